import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { llmErrorOf } from '../../../application/ports/llmProvider.js';
import { makeAnthropicProvider } from '../../../adapters/llm/anthropic/anthropicProvider.js';
import { makeOpenAiProvider } from '../../../adapters/llm/openai/openaiProvider.js';
import type { LlmRouter, OpenHooks } from '../../../adapters/llm/router/llmRouter.js';
import { makeLlmRouter } from '../../../adapters/llm/router/llmRouter.js';
import type { SseFixture } from '../../support/anthropicFixture.js';
import { startAnthropicFixture } from '../../support/anthropicFixture.js';
import { startOpenAiFixture } from '../../support/openaiFixture.js';
import { FAST, ask, collect } from './llmTestKit.js';

/** Fallback between the two real adapters, each against its own fixture server. */

let openaiFx: SseFixture;
let claudeFx: SseFixture;
let fallbacks: string[];

beforeAll(async () => {
  [openaiFx, claudeFx] = await Promise.all([startOpenAiFixture(), startAnthropicFixture()]);
});
afterAll(async () => {
  await Promise.all([openaiFx.close(), claudeFx.close()]);
});
beforeEach(() => {
  openaiFx.reset();
  claudeFx.reset();
  fallbacks = [];
});

const router = (fallbackForExplicit = false): LlmRouter =>
  makeLlmRouter({
    providers: [
      makeOpenAiProvider({ apiKey: 'k', baseURL: openaiFx.baseURL, models: () => ['gpt-4o-mini'], resilience: { ...FAST, maxRetries: 1 } }),
      makeAnthropicProvider({ apiKey: 'k', baseURL: claudeFx.baseURL, models: () => ['claude-3-haiku-20240307'], resilience: FAST }),
    ],
    fallbackMap: { 'gpt-4o-mini': 'claude-3-haiku-20240307', 'claude-3-haiku-20240307': 'gpt-4o-mini' },
    fallbackForExplicit,
    maxOutputTokensFor: (model) => (model === 'claude-3-haiku-20240307' ? 4096 : 16384),
  });

const hooks: OpenHooks = {
  onFallback: ({ from, to, error }) => {
    fallbacks.push(`${from.request.model} -> ${to.request.model} (${error._tag})`);
  },
};
const signal = () => new AbortController().signal;

describe('router fallback before the first chunk', () => {
  it('auto falls back to the mapped Claude model when OpenAI keeps failing', async () => {
    openaiFx.setDefault({ fault: { kind: 'status', status: 503 } });
    const opened = await router().open(ask('gpt-4o-mini', 'Hi', 8000), 'auto', signal(), hooks);
    expect(opened).toMatchObject({ provider: 'claude', model: 'claude-3-haiku-20240307', kind: 'real' });
    expect(opened.failed).toEqual([expect.objectContaining({ provider: 'openai', error: expect.objectContaining({ status: 503 }) })]);
    expect(fallbacks).toEqual(['gpt-4o-mini -> claude-3-haiku-20240307 (ProviderUnavailable)']);
    const got = await collect(opened.items);
    expect(got.error).toBeUndefined();
    expect(got.chunks.join('')).toBe('Hello from the fixture server.');
    expect(got.usage?.outputTokens).toBeGreaterThan(0);
    expect(openaiFx.requests).toHaveLength(2);
    // The fallback model's own output limit caps max_tokens.
    expect(claudeFx.requests[0]?.body['max_tokens']).toBe(4096);
  });

  it('an exhausted quota (429, not retryable) also falls back, without retrying', async () => {
    openaiFx.enqueue({
      fault: { kind: 'status', status: 429, body: { error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } } },
    });
    const opened = await router().open(ask('gpt-4o-mini'), 'auto', signal(), hooks);
    expect(opened.provider).toBe('claude');
    expect(openaiFx.requests).toHaveLength(1);
  });

  it('a named provider does not fall back unless the operator allows it', async () => {
    openaiFx.setDefault({ fault: { kind: 'status', status: 503 } });
    await expect(router().open(ask('gpt-4o-mini'), 'openai', signal(), hooks)).rejects.toMatchObject({
      llm: { _tag: 'ProviderUnavailable', provider: 'openai' },
    });
    expect(claudeFx.requests).toHaveLength(0);
    const opened = await router(true).open(ask('gpt-4o-mini'), 'openai', signal(), hooks);
    expect(opened.provider).toBe('claude');
  });

  it('a bad request is not a reason to fall back', async () => {
    openaiFx.enqueue({ fault: { kind: 'status', status: 400 } });
    await expect(router().open(ask('gpt-4o-mini'), 'auto', signal(), hooks)).rejects.toMatchObject({ llm: { _tag: 'ProviderError' } });
    expect(claudeFx.requests).toHaveLength(0);
  });

  it('the caller can refuse the fallback (e.g. its hold cannot grow)', async () => {
    openaiFx.setDefault({ fault: { kind: 'status', status: 503 } });
    const refusing: OpenHooks = {
      onFallback: () => {
        throw new Error('insufficient credits for the fallback model');
      },
    };
    await expect(router().open(ask('gpt-4o-mini'), 'auto', signal(), refusing)).rejects.toThrow('insufficient credits');
    expect(claudeFx.requests).toHaveLength(0);
  });
});

describe('no fallback after the first chunk', () => {
  it('a stream that breaks after text was handed out fails and never reaches the other provider', async () => {
    openaiFx.enqueue({ fault: { kind: 'stopAfter', chunks: 2 } });
    const opened = await router().open(ask('gpt-4o-mini'), 'auto', signal(), hooks);
    expect(opened.provider).toBe('openai');
    const got = await collect(opened.items);
    expect(got.chunks).toEqual(['Hello', ' from']);
    expect(got.error).toMatchObject({ _tag: 'ProviderUnavailable', partialUsage: { outputTokens: 2 } });
    expect(claudeFx.requests).toHaveLength(0);
    expect(fallbacks).toEqual([]);
  });

  it('an abort before the first chunk does not fall back either', async () => {
    openaiFx.enqueue({ firstByteDelayMs: 200 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const failure = await router().open(ask('gpt-4o-mini'), 'auto', controller.signal, hooks).catch((e: unknown) => e);
    expect(llmErrorOf(failure)?._tag).toBe('Aborted');
    expect(claudeFx.requests).toHaveLength(0);
  });
});
