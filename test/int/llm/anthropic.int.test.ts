import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { LlmProvider } from '../../../application/ports/llmProvider.js';
import { makeAnthropicProvider } from '../../../adapters/llm/anthropic/anthropicProvider.js';
import type { ResilienceOptions } from '../../../adapters/llm/resilience.js';
import { countTextTokens } from '../../../adapters/llm/tokenizer.js';
import type { SseFixture } from '../../support/anthropicFixture.js';
import { CLAUDE_INPUT_FACTOR, startAnthropicFixture } from '../../support/anthropicFixture.js';
import { FAST, ask, collect, within } from './llmTestKit.js';

/**
 * The Anthropic adapter driven through the real `@anthropic-ai/sdk` against a
 * local server speaking the Messages API event stream, with scripted faults.
 */

const MODEL = 'claude-3-5-haiku-latest';
let fixture: SseFixture;
const retries: { delayMs: number; tag: string }[] = [];
const provider = (over: Partial<ResilienceOptions> = {}): LlmProvider =>
  makeAnthropicProvider({
    apiKey: 'sk-ant-test',
    baseURL: fixture.baseURL,
    models: () => [MODEL, 'claude-sonnet-4-0'],
    resilience: { ...FAST, ...over },
    hooks: { onRetry: (e) => retries.push({ delayMs: e.delayMs, tag: e.error._tag }) },
  });

beforeAll(async () => {
  fixture = await startAnthropicFixture();
});
afterAll(() => fixture.close());
beforeEach(() => {
  fixture.reset();
  retries.length = 0;
});

const signal = () => new AbortController().signal;

describe('Anthropic adapter through the SDK', () => {
  it('streams text deltas; input from message_start, output from message_delta', async () => {
    fixture.enqueue({ chunks: ['Bonjour', ' !'], usage: { inputTokens: 321, outputTokens: 45 } });
    const got = await collect(provider().stream(ask(MODEL, 'Salut', 100), signal()));
    expect(got.error).toBeUndefined();
    expect(got.chunks).toEqual(['Bonjour', ' !']);
    expect(got.usage).toEqual({ inputTokens: 321, outputTokens: 45 });
  });

  it("reports the provider's input count, not the tokenizer estimate", async () => {
    const p = provider();
    const req = ask(MODEL, 'A prompt long enough for the two counts to differ by a few tokens at least.');
    const got = await collect(p.stream(req, signal()));
    const estimate = p.estimateInputTokens(req);
    expect(got.usage?.inputTokens).toBe(Math.ceil(estimate * CLAUDE_INPUT_FACTOR));
    expect(got.usage?.inputTokens).not.toBe(estimate);
  });

  it('maps system prompts to `system`, merges same-role turns, passes max_tokens and clamps temperature', async () => {
    await collect(
      provider().stream(
        {
          model: MODEL,
          maxTokens: 77,
          temperature: 1.7,
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'One.' },
            { role: 'user', content: 'Two.' },
            { role: 'assistant', content: 'Ok.' },
            { role: 'system', content: 'Be kind.' },
            { role: 'user', content: 'Three.' },
          ],
        },
        signal(),
      ),
    );
    const req = fixture.requests[0];
    expect(req?.body).toEqual({
      model: MODEL,
      max_tokens: 77,
      stream: true,
      temperature: 1,
      system: 'Be brief.\n\nBe kind.',
      messages: [
        { role: 'user', content: 'One.\n\nTwo.' },
        { role: 'assistant', content: 'Ok.' },
        { role: 'user', content: 'Three.' },
      ],
    });
    // Older SDK versions send x-api-key, this one sends a bearer token; either carries the key.
    expect([req?.headers['x-api-key'], req?.headers['authorization']]).toContainEqual(expect.stringContaining('sk-ant-test'));
    expect(req?.headers['anthropic-version']).toBeDefined();
  });

  it('stops at max_tokens like the provider and still reports exact usage', async () => {
    const got = await collect(provider().stream(ask(MODEL, 'Hi', 2), signal()));
    expect(countTextTokens(MODEL, got.chunks.join(''))).toBeLessThanOrEqual(2);
    expect(got.usage?.outputTokens).toBe(countTextTokens(MODEL, got.chunks.join('')));
  });

  it('refuses a request with no user message before calling the provider', async () => {
    const got = await collect(provider().stream({ model: MODEL, maxTokens: 10, messages: [{ role: 'system', content: 'x' }] }, signal()));
    expect(got.error).toMatchObject({ _tag: 'ProviderError', retryable: false });
    expect(fixture.requests).toHaveLength(0);
  });
});

describe('faults', () => {
  it('retries 429 after retry-after and 529 overloaded with backoff', async () => {
    fixture.enqueue(
      { fault: { kind: 'status', status: 429, headers: { 'retry-after': '0' } } },
      { fault: { kind: 'status', status: 529 } },
    );
    const got = await collect(provider().stream(ask(MODEL), signal()));
    expect(got.error).toBeUndefined();
    expect(retries.map((r) => r.tag)).toEqual(['ProviderRateLimited', 'ProviderUnavailable']);
    expect(retries[0]?.delayMs).toBe(0);
    expect(fixture.requests).toHaveLength(3);
  });

  it('does not retry a 400', async () => {
    fixture.enqueue({ fault: { kind: 'status', status: 400 } });
    const got = await collect(provider().stream(ask(MODEL), signal()));
    expect(got.error).toMatchObject({ _tag: 'ProviderError', status: 400, retryable: false });
    expect(fixture.requests).toHaveLength(1);
  });

  it('an overloaded error event mid-stream fails with partial usage whose input is the provider count', async () => {
    fixture.enqueue({ fault: { kind: 'errorEventAfter', chunks: 3 }, usage: { inputTokens: 999, outputTokens: 50 } });
    const got = await collect(provider().stream(ask(MODEL), signal()));
    expect(got.chunks).toHaveLength(3);
    expect(got.error).toMatchObject({
      _tag: 'ProviderUnavailable',
      partialUsage: { inputTokens: 999, outputTokens: countTextTokens(MODEL, got.chunks.join('')) },
    });
    expect(fixture.requests).toHaveLength(1);
  });

  it('a stream without message_stop is a failure, not a short answer', async () => {
    fixture.enqueue({ fault: { kind: 'stopAfter', chunks: 6 } });
    const got = await collect(provider().stream(ask(MODEL), signal()));
    expect(got.chunks).toHaveLength(6);
    expect(got.usage).toBeUndefined();
    expect(got.error?._tag).toBe('ProviderUnavailable');
  });

  it('malformed JSON mid-stream fails; a connection reset before the response is retried', async () => {
    fixture.enqueue({ fault: { kind: 'resetAfter', chunks: 0 } }, { fault: { kind: 'malformedAfter', chunks: 1 } });
    const got = await collect(provider().stream(ask(MODEL), signal()));
    expect(got.chunks).toHaveLength(1);
    expect(got.error).toMatchObject({ _tag: 'ProviderError' });
    expect(fixture.requests).toHaveLength(2);
  });

  it('an abort mid-stream closes the upstream connection', async () => {
    fixture.enqueue({ chunkDelayMs: 50 });
    const controller = new AbortController();
    const stream = provider({ idleTimeoutMs: 1_000 }).stream(ask(MODEL), controller.signal);
    let error: unknown;
    try {
      for await (const item of stream) if (item.type === 'chunk') controller.abort();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ llm: { _tag: 'Aborted', partialUsage: { outputTokens: 1 } } });
    await expect(within(fixture.requests[0]!.outcome, 2_000, 'upstream close')).resolves.toBe('closedByClient');
  });
});
