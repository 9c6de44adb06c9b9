import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { LlmProvider } from '../../../application/ports/llmProvider.js';
import { makeOpenAiProvider } from '../../../adapters/llm/openai/openaiProvider.js';
import type { ResilienceOptions } from '../../../adapters/llm/resilience.js';
import { countTextTokens } from '../../../adapters/llm/tokenizer.js';
import type { SseFixture } from '../../support/openaiFixture.js';
import { startOpenAiFixture } from '../../support/openaiFixture.js';
import { FAST, ask, collect, sleep, within } from './llmTestKit.js';

/**
 * The OpenAI adapter driven through the real `openai` SDK against a local
 * server speaking the chat completions SSE format, with scripted faults.
 */

let fixture: SseFixture;
const retries: { attempt: number; delayMs: number; tag: string }[] = [];
const provider = (over: Partial<ResilienceOptions> = {}): LlmProvider =>
  makeOpenAiProvider({
    apiKey: 'sk-test',
    baseURL: fixture.baseURL,
    models: () => ['gpt-4o-mini', 'o4-mini'],
    resilience: { ...FAST, ...over },
    hooks: { onRetry: (e) => retries.push({ attempt: e.attempt, delayMs: e.delayMs, tag: e.error._tag }) },
  });

beforeAll(async () => {
  fixture = await startOpenAiFixture();
});
afterAll(() => fixture.close());
beforeEach(() => {
  fixture.reset();
  retries.length = 0;
});

const signal = () => new AbortController().signal;

describe('OpenAI adapter through the SDK', () => {
  it('streams the text and reports the usage chunk numbers exactly', async () => {
    fixture.enqueue({ chunks: ['Hi', ' there', '!'], usage: { inputTokens: 4242, outputTokens: 777 } });
    const got = await collect(provider().stream(ask('gpt-4o-mini', 'Hello?', 50, { temperature: 0.3 }), signal()));
    expect(got.error).toBeUndefined();
    expect(got.chunks).toEqual(['Hi', ' there', '!']);
    expect(got.usage).toEqual({ inputTokens: 4242, outputTokens: 777 });
    const [req] = fixture.requests;
    expect(req?.body).toMatchObject({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 50,
      temperature: 0.3,
      messages: [{ role: 'user', content: 'Hello?' }],
    });
    expect(req?.headers['authorization']).toBe('Bearer sk-test');
  });

  it('matches the provider count of the prompt with its own estimate', async () => {
    const p = provider();
    const req = ask('gpt-4o-mini', 'How many tokens is this prompt, exactly?');
    const got = await collect(p.stream(req, signal()));
    expect(got.usage?.inputTokens).toBe(p.estimateInputTokens(req));
  });

  it('sends max_completion_tokens and no temperature to reasoning models', async () => {
    await collect(provider().stream(ask('o4-mini', 'Think.', 900, { temperature: 0.5 }), signal()));
    const body = fixture.requests[0]?.body ?? {};
    expect(body['max_completion_tokens']).toBe(900);
    expect(body).not.toHaveProperty('max_tokens');
    expect(body).not.toHaveProperty('temperature');
  });

  it('refuses a model it does not serve without calling the provider', async () => {
    const got = await collect(provider().stream(ask('gpt-4'), signal()));
    expect(got.error?._tag).toBe('UnknownModel');
    expect(fixture.requests).toHaveLength(0);
  });

  it('maps a provider 404 for the model to UnknownModel and does not retry', async () => {
    fixture.enqueue({ fault: { kind: 'status', status: 404 } });
    const got = await collect(provider().stream(ask('gpt-4o-mini'), signal()));
    expect(got.error).toMatchObject({ _tag: 'UnknownModel', retryable: false });
    expect(fixture.requests).toHaveLength(1);
  });
});

describe('retries before the first chunk', () => {
  it('honours retry-after in seconds, capped', async () => {
    fixture.enqueue({ fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } });
    const got = await collect(provider().stream(ask('gpt-4o-mini'), signal()));
    expect(got.error).toBeUndefined();
    expect(retries).toEqual([{ attempt: 1, delayMs: 300, tag: 'ProviderRateLimited' }]);
    const [a, b] = fixture.requests;
    expect((b?.receivedAtMs ?? 0) - (a?.receivedAtMs ?? 0)).toBeGreaterThanOrEqual(290);
  });

  it('honours retry-after-ms below the cap', async () => {
    fixture.enqueue({ fault: { kind: 'status', status: 429, headers: { 'retry-after-ms': '120' } } });
    await collect(provider().stream(ask('gpt-4o-mini'), signal()));
    expect(retries.map((r) => r.delayMs)).toEqual([120]);
  });

  it('backs off exponentially with jitter inside its bounds when no retry-after is given', async () => {
    fixture.enqueue(
      { fault: { kind: 'status', status: 500 } },
      { fault: { kind: 'status', status: 503 } },
      { fault: { kind: 'status', status: 429 } },
    );
    const got = await collect(provider({ breakerThreshold: 10 }).stream(ask('gpt-4o-mini'), signal()));
    expect(got.error).toBeUndefined();
    expect(fixture.requests).toHaveLength(4);
    // Half jitter: attempt n waits in [d/2, d] with d = min(80, 20 * 2^(n-1)).
    const bounds = [20, 40, 80];
    retries.forEach((r, i) => {
      const d = bounds[i] ?? 0;
      expect(r.delayMs).toBeGreaterThanOrEqual(d / 2);
      expect(r.delayMs).toBeLessThanOrEqual(d);
    });
    const times = fixture.requests.map((r) => r.receivedAtMs);
    for (let i = 1; i < times.length; i += 1) {
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual((retries[i - 1]?.delayMs ?? 0) - 5);
    }
  });

  it('gives up after the bounded number of attempts', async () => {
    fixture.setDefault({ fault: { kind: 'status', status: 500 } });
    const got = await collect(provider({ maxRetries: 2, breakerThreshold: 10 }).stream(ask('gpt-4o-mini'), signal()));
    expect(got.error).toMatchObject({ _tag: 'ProviderUnavailable', status: 500, retryable: true });
    expect(got.error?.partialUsage).toBeUndefined();
    expect(fixture.requests).toHaveLength(3);
  });

  it('stops retrying when the next wait would pass the deadline', async () => {
    fixture.setDefault({ fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } });
    const got = await collect(provider({ retryAfterCapMs: 5_000, deadlineMs: 500 }).stream(ask('gpt-4o-mini'), signal()));
    expect(got.error?._tag).toBe('ProviderRateLimited');
    expect(fixture.requests).toHaveLength(1);
  });

  it('retries a connection reset before the response and a malformed first event', async () => {
    fixture.enqueue({ fault: { kind: 'resetAfter', chunks: 0 } }, { fault: { kind: 'malformedAfter', chunks: 0 } });
    const got = await collect(provider({ breakerThreshold: 10 }).stream(ask('gpt-4o-mini'), signal()));
    expect(got.error).toBeUndefined();
    expect(retries.map((r) => r.tag)).toEqual(['ProviderUnavailable', 'ProviderError']);
    expect(fixture.requests).toHaveLength(3);
  });

  it('times out a slow first byte and closes that connection', async () => {
    fixture.enqueue({ firstByteDelayMs: 1_000 });
    const started = Date.now();
    const got = await collect(provider({ maxRetries: 0 }).stream(ask('gpt-4o-mini'), signal()));
    expect(got.error).toMatchObject({ _tag: 'ProviderUnavailable', message: 'connectTimeout after 300 ms' });
    expect(Date.now() - started).toBeLessThan(900);
    await expect(within(fixture.requests[0]!.outcome, 2_000, 'close')).resolves.toBe('closedByClient');
  });
});

describe('failures after the first chunk are never retried', () => {
  const outputOf = (chunks: string[]) => countTextTokens('gpt-4o-mini', chunks.join(''));

  it.each([
    ['a stream that stops mid-way', { kind: 'stopAfter', chunks: 2 } as const, 'ProviderUnavailable'],
    ['a connection reset mid-way', { kind: 'resetAfter', chunks: 2 } as const, 'ProviderUnavailable'],
    ['malformed JSON mid-way', { kind: 'malformedAfter', chunks: 2 } as const, 'ProviderError'],
    ['an error event mid-way', { kind: 'errorEventAfter', chunks: 2 } as const, 'ProviderUnavailable'],
    ['a silent connection (idle timeout)', { kind: 'hangAfter', chunks: 2 } as const, 'ProviderUnavailable'],
  ])('%s fails with the partial usage', async (_name, fault, tag) => {
    fixture.enqueue({ fault });
    const p = provider();
    const req = ask('gpt-4o-mini');
    const got = await collect(p.stream(req, signal()));
    expect(got.chunks).toEqual(['Hello', ' from']);
    expect(got.error?._tag).toBe(tag);
    expect(got.error?.partialUsage).toEqual({ inputTokens: p.estimateInputTokens(req), outputTokens: outputOf(got.chunks) });
    expect(fixture.requests).toHaveLength(1);
  });

  it('times out silence before the first chunk, retrying each time', async () => {
    fixture.setDefault({ chunkDelayMs: 400 });
    const got = await collect(provider({ maxRetries: 1 }).stream(ask('gpt-4o-mini'), signal()));
    expect(got.error).toMatchObject({ _tag: 'ProviderUnavailable', message: 'firstChunkTimeout after 300 ms' });
    expect(got.chunks).toEqual([]);
    expect(fixture.requests).toHaveLength(2);
  });
});

describe('aborts', () => {
  it('an abort mid-stream reaches the fixture and reports what was produced', async () => {
    fixture.enqueue({ chunkDelayMs: 40, chunks: ['one', ' two', ' three', ' four', ' five', ' six'] });
    const controller = new AbortController();
    const stream = provider({ idleTimeoutMs: 1_000 }).stream(ask('gpt-4o-mini'), controller.signal);
    const seen: string[] = [];
    let error: unknown;
    try {
      for await (const item of stream) {
        if (item.type === 'chunk') seen.push(item.text);
        if (seen.length === 2) controller.abort();
      }
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ llm: { _tag: 'Aborted', partialUsage: { outputTokens: countTextTokens('gpt-4o-mini', 'one two') } } });
    expect(stream.usageSoFar().outputTokens).toBe(2);
    await expect(within(fixture.requests[0]!.outcome, 2_000, 'upstream close')).resolves.toBe('closedByClient');
  });

  it('breaking out of the loop closes the upstream request too', async () => {
    fixture.enqueue({ chunkDelayMs: 40 });
    for await (const item of provider().stream(ask('gpt-4o-mini'), signal())) {
      if (item.type === 'chunk') break;
    }
    await expect(within(fixture.requests[0]!.outcome, 2_000, 'upstream close')).resolves.toBe('closedByClient');
  });

  it('an abort during a retry wait returns at once', async () => {
    fixture.setDefault({ fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 60);
    const started = Date.now();
    const got = await collect(provider({ retryAfterCapMs: 5_000 }).stream(ask('gpt-4o-mini'), controller.signal));
    expect(got.error?._tag).toBe('Aborted');
    expect(Date.now() - started).toBeLessThan(250);
    await sleep(10);
  });
});
