import { countChatTokens } from '../../adapters/llm/tokenizer.js';
import type { SseDialect, StreamPlan } from '../../test/support/openaiFixture.js';
import { startSseFixture } from '../../test/support/openaiFixture.js';

/**
 * The OpenAI chat-completions SSE format (as test/support/openaiFixture.ts
 * speaks it), except that each chunk's text ends with the moment it was
 * written, `[<ms since epoch, µs precision>]`. A client in another process on
 * the same machine subtracts it from the arrival time: the chunk's latency,
 * whichever path it took (the SDK directly, or the gateway).
 *
 * Run as a child process (bench/ws/spawnTs.ts): sends { ready: { baseURL } }
 * over IPC and serves until asked to close. Env: FIRST_BYTE_MS, CHUNKS, CHUNK_MS.
 */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const envelope = (p: StreamPlan) => ({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_750_000_000, model: p.model });
const chunkOf = (p: StreamPlan, delta: Record<string, unknown>, finish: string | null) => ({
  ...envelope(p),
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  usage: null,
});

const timedOpenAi: SseDialect = {
  path: '/v1/chat/completions',
  baseSuffix: '/v1',
  promptTokens: (body) => countChatTokens(String(body['model'] ?? 'gpt-4o-mini'), (body['messages'] ?? []) as { role: 'user'; content: string }[]),
  maxTokens: (body) => (typeof body['max_tokens'] === 'number' ? body['max_tokens'] : undefined),
  head: (p) => [sse(chunkOf(p, { role: 'assistant', content: '' }, null))],
  chunk: (p, text) => sse(chunkOf(p, { content: `${text}[${wallClockMs().toFixed(3)}]` }, null)),
  tail: (p) => [
    sse(chunkOf(p, {}, 'stop')),
    sse({ ...envelope(p), choices: [], usage: { prompt_tokens: p.usage.inputTokens, completion_tokens: p.usage.outputTokens, total_tokens: p.usage.inputTokens + p.usage.outputTokens } }),
    'data: [DONE]\n\n',
  ],
  malformed: () => 'data: {"oops\n\n',
  errorEvent: () => sse({ error: { message: 'bench error', type: 'server_error' } }),
  errorBody: (status) => ({ error: { message: `bench ${status}`, type: 'server_error' } }),
};

const isMain = process.argv[1]?.endsWith('timedFixture.ts') === true;
if (isMain) {
  const chunks = Number(process.env['CHUNKS'] ?? 10);
  const fixture = await startSseFixture(timedOpenAi);
  fixture.setDefault({
    chunks: Array.from({ length: chunks }, (_, i) => ` w${i}`),
    usage: { inputTokens: 12, outputTokens: chunks * 2 },
    firstByteDelayMs: Number(process.env['FIRST_BYTE_MS'] ?? 10),
    chunkDelayMs: Number(process.env['CHUNK_MS'] ?? 2),
  });
  // The fixture records every request; a bench sends thousands.
  setInterval(() => (fixture.requests.length = 0), 1_000).unref();
  process.send?.({ ready: { baseURL: fixture.baseURL } });
  process.on('message', (m: unknown) => {
    if (m === 'close') void fixture.close().then(() => process.exit(0));
  });
}
