import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countChatTokens, countTextTokens } from '../../adapters/llm/tokenizer.js';

/**
 * A local HTTP server that speaks OpenAI's chat completions streaming wire
 * format, with scriptable faults per request. The generic part (queue of
 * replies, faults, request recording) is exported as `startSseFixture` and
 * reused by anthropicFixture.ts, which only supplies its own dialect.
 *
 * Usage defaults to what a provider would report: the prompt counted with
 * the real tokenizer (`inputFactor` inflates it, to mimic a provider that
 * counts differently) and the text sent; text is cut at the request's
 * max_tokens like a real model does. A reply may set exact numbers instead.
 */

export type Fault =
  /** Answer with this status and an error body in the provider's format. */
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown }
  /** End the response cleanly after n text chunks, without finish or usage. */
  | { readonly kind: 'stopAfter'; readonly chunks: number }
  /** Destroy the socket after n text chunks (0 = before any byte of the response). */
  | { readonly kind: 'resetAfter'; readonly chunks: number }
  /** Send an event whose JSON is cut off after n text chunks, then end. */
  | { readonly kind: 'malformedAfter'; readonly chunks: number }
  /** Send the provider's in-stream error event after n text chunks, then end. */
  | { readonly kind: 'errorEventAfter'; readonly chunks: number }
  /** Stop sending after n text chunks but keep the connection open. */
  | { readonly kind: 'hangAfter'; readonly chunks: number };

export type Reply = {
  readonly chunks?: readonly string[];
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number };
  readonly fault?: Fault;
  /** Wait before sending anything (status line included). */
  readonly firstByteDelayMs?: number;
  /** Wait before each text chunk. */
  readonly chunkDelayMs?: number;
};

export type RecordedRequest = {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly receivedAtMs: number;
  /** How the response ended: fully sent, closed by the client first, or reset by the fixture. */
  readonly outcome: Promise<'finished' | 'closedByClient' | 'reset'>;
};

export type Frame = string;
export type StreamPlan = {
  readonly model: string;
  readonly body: Record<string, unknown>;
  readonly texts: readonly string[];
  readonly truncated: boolean;
  readonly usage: { inputTokens: number; outputTokens: number };
};

export type SseDialect = {
  readonly path: string;
  readonly baseSuffix: string;
  readonly promptTokens: (body: Record<string, unknown>) => number;
  readonly maxTokens: (body: Record<string, unknown>) => number | undefined;
  readonly head: (plan: StreamPlan) => readonly Frame[];
  readonly chunk: (plan: StreamPlan, text: string) => Frame;
  readonly tail: (plan: StreamPlan) => readonly Frame[];
  readonly malformed: () => Frame;
  readonly errorEvent: () => Frame;
  readonly errorBody: (status: number) => unknown;
};

export type SseFixture = {
  /** What to give the SDK as baseURL. */
  readonly baseURL: string;
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Replies for the next requests, in order; afterwards the default reply is used. */
  readonly enqueue: (...replies: Reply[]) => void;
  readonly setDefault: (reply: Reply) => void;
  /** Forgets queued replies and recorded requests, and restores the plain default reply. */
  readonly reset: () => void;
  readonly close: () => Promise<void>;
};

export const DEFAULT_CHUNKS = ['Hello', ' from', ' the', ' fixture', ' server', '.'];

const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const plan = (dialect: SseDialect, reply: Reply, body: Record<string, unknown>, inputFactor: number): StreamPlan => {
  const model = typeof body['model'] === 'string' ? body['model'] : 'unknown';
  const max = dialect.maxTokens(body) ?? Number.MAX_SAFE_INTEGER;
  const all = reply.chunks ?? DEFAULT_CHUNKS;
  const texts: string[] = [];
  let truncated = false;
  // A token is at least one byte, so text within max bytes cannot pass max
  // tokens; only then is counting (quadratic here) needed.
  const fits = Buffer.byteLength(all.join('')) <= max;
  for (const text of all) {
    if (!fits && countTextTokens(model, [...texts, text].join('')) > max) {
      truncated = true;
      break;
    }
    texts.push(text);
  }
  const usage = reply.usage ?? {
    inputTokens: Math.ceil(dialect.promptTokens(body) * inputFactor),
    outputTokens: countTextTokens(model, texts.join('')),
  };
  return { model, body, texts, truncated, usage };
};

export const startSseFixture = async (dialect: SseDialect, options: { inputFactor?: number } = {}): Promise<SseFixture> => {
  const queue: Reply[] = [];
  let fallbackReply: Reply = {};
  const requests: RecordedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const reply = queue.shift() ?? fallbackReply;
    let reset = false;
    const outcome = new Promise<'finished' | 'closedByClient' | 'reset'>((resolve) =>
      res.on('close', () => resolve(reset ? 'reset' : res.writableFinished ? 'finished' : 'closedByClient')),
    );
    const path = new URL(req.url ?? '/', 'http://fixture').pathname;
    requests.push({ path, headers: req.headers, body, receivedAtMs: Date.now(), outcome });
    const gone = () => res.destroyed || res.writableEnded;
    const wait = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
    const destroy = async () => {
      // Let the frames already written reach the client first: a reset also
      // discards data the client has received but not yet read.
      await new Promise<void>((r) => res.write('', () => r()));
      await wait(30);
      reset = true;
      req.socket.destroy();
    };
    if (path !== dialect.path) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(dialect.errorBody(404)));
      return;
    }
    await wait(reply.firstByteDelayMs ?? 0);
    const fault = reply.fault;
    if (gone()) return;
    if (fault?.kind === 'resetAfter' && fault.chunks === 0) {
      reset = true;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(JSON.stringify(fault.body ?? dialect.errorBody(fault.status)));
      return;
    }
    const p = plan(dialect, reply, body, options.inputFactor ?? 1);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const frame of dialect.head(p)) res.write(frame);
    for (let i = 0; i <= p.texts.length; i += 1) {
      if (fault !== undefined && 'chunks' in fault && fault.chunks === i) {
        if (fault.kind === 'resetAfter') return destroy();
        if (fault.kind === 'hangAfter') return;
        if (fault.kind === 'malformedAfter') res.write(dialect.malformed());
        if (fault.kind === 'errorEventAfter') res.write(dialect.errorEvent());
        res.end();
        return;
      }
      const text = p.texts[i];
      if (text === undefined) break;
      await wait(reply.chunkDelayMs ?? 0);
      if (gone()) return;
      res.write(dialect.chunk(p, text));
    }
    for (const frame of dialect.tail(p)) res.write(frame);
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseURL: `${origin}${dialect.baseSuffix}`,
    origin,
    requests,
    enqueue: (...replies) => {
      queue.push(...replies);
    },
    setDefault: (reply) => {
      fallbackReply = reply;
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      fallbackReply = {};
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

const sse = (data: unknown): Frame => `data: ${JSON.stringify(data)}\n\n`;

const openAiDialect: SseDialect = {
  path: '/v1/chat/completions',
  baseSuffix: '/v1',
  promptTokens: (body) => {
    const model = typeof body['model'] === 'string' ? body['model'] : 'gpt-4o';
    const messages = Array.isArray(body['messages']) ? (body['messages'] as { role: 'user'; content: string }[]) : [];
    return countChatTokens(model, messages);
  },
  maxTokens: (body) => {
    const v = body['max_tokens'] ?? body['max_completion_tokens'];
    return typeof v === 'number' ? v : undefined;
  },
  head: (p) => [sse(chunkOf(p, { role: 'assistant', content: '', refusal: null }, null))],
  chunk: (p, text) => sse(chunkOf(p, { content: text }, null)),
  tail: (p) => {
    const frames = [sse(chunkOf(p, {}, p.truncated ? 'length' : 'stop'))];
    if (includesUsage(p)) {
      const { inputTokens, outputTokens } = p.usage;
      frames.push(
        sse({
          ...envelope(p),
          choices: [],
          usage: {
            prompt_tokens: inputTokens,
            completion_tokens: outputTokens,
            total_tokens: inputTokens + outputTokens,
            prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
            completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
          },
        }),
      );
    }
    frames.push('data: [DONE]\n\n');
    return frames;
  },
  malformed: () => 'data: {"id":"chatcmpl-fixture","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oo\n\n',
  errorEvent: () => sse({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } }),
  errorBody: (status) => ({
    error: {
      message: status === 429 ? 'Rate limit reached for requests' : status === 404 ? 'The model does not exist' : `fixture error ${status}`,
      type: status === 429 ? 'requests' : status === 404 ? 'invalid_request_error' : 'server_error',
      param: null,
      code: status === 429 ? 'rate_limit_exceeded' : status === 404 ? 'model_not_found' : null,
    },
  }),
};

const envelope = (p: StreamPlan) => ({
  id: 'chatcmpl-fixture',
  object: 'chat.completion.chunk',
  created: 1_750_000_000,
  model: p.model,
  system_fingerprint: 'fp_fixture',
});

const includesUsage = (p: StreamPlan): boolean =>
  (p.body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;

/** With include_usage every chunk carries `usage: null` except the last one; without it, no usage field at all. */
const chunkOf = (p: StreamPlan, delta: Record<string, unknown>, finish: string | null) => ({
  ...envelope(p),
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  ...(includesUsage(p) ? { usage: null } : {}),
});

/** An OpenAI fixture: pass `baseURL` to the SDK (it ends in /v1). */
export const startOpenAiFixture = (): Promise<SseFixture> => startSseFixture(openAiDialect);
