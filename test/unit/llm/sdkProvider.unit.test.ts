import { describe, expect, it } from '@jest/globals';
import type { LlmError, StreamItem } from '../../../application/ports/llmProvider.js';
import { llmErrorOf } from '../../../application/ports/llmProvider.js';
import { classifyThrown } from '../../../adapters/llm/llmErrors.js';
import type { ResilienceOptions } from '../../../adapters/llm/resilience.js';
import { DEFAULT_RESILIENCE, makeResilience } from '../../../adapters/llm/resilience.js';
import type { OpenWire, WireEvent } from '../../../adapters/llm/sdkProvider.js';
import { makeSdkProvider } from '../../../adapters/llm/sdkProvider.js';
import { countChatTokens, countTextTokens } from '../../../adapters/llm/tokenizer.js';

/**
 * The stream life cycle shared by both SDK adapters, driven by an in-memory
 * wire (no network): what is retried, what is reported, what is counted.
 */

type Attempt = { readonly fail?: unknown; readonly events?: readonly WireEvent[]; readonly thenFail?: unknown };

const OPTIONS: ResilienceOptions = {
  ...DEFAULT_RESILIENCE,
  initialBackoffMs: 1,
  maxBackoffMs: 2,
  connectTimeoutMs: 200,
  firstChunkTimeoutMs: 200,
  idleTimeoutMs: 200,
};

/** A wire that plays one scripted attempt per call and ends quietly when aborted, as the SDKs do. */
const scriptedWire = (attempts: Attempt[]) => {
  let calls = 0;
  const open: OpenWire = async (_req, signal) => {
    const attempt = attempts[calls] ?? attempts[attempts.length - 1] ?? {};
    calls += 1;
    if (attempt.fail !== undefined) throw attempt.fail;
    async function* events(): AsyncGenerator<WireEvent> {
      for (const ev of attempt.events ?? []) {
        await new Promise((r) => setImmediate(r));
        if (signal.aborted) return;
        yield ev;
      }
      if (attempt.thenFail !== undefined) throw attempt.thenFail;
    }
    return events();
  };
  return { open, calls: () => calls };
};

const providerWith = (attempts: Attempt[], options = OPTIONS) => {
  const wire = scriptedWire(attempts);
  const provider = makeSdkProvider({
    name: 'openai',
    models: () => ['gpt-4o'],
    openWire: wire.open,
    classify: (e) => classifyThrown('openai', e, Date.now()),
    resilience: makeResilience('openai', options),
    timeouts: options,
  });
  return { provider, calls: wire.calls };
};

const REQ = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Tell me something.' }], maxTokens: 100 };
const status = (code: number) => Object.assign(new Error(`${code}`), { status: code, headers: new Headers(), error: {} });
const text = (t: string): WireEvent => ({ type: 'text', text: t });
const FINISH: WireEvent = { type: 'finish' };

const drain = async (items: AsyncIterable<StreamItem>) => {
  const seen: StreamItem[] = [];
  let error: LlmError | undefined;
  try {
    for await (const item of items) seen.push(item);
  } catch (e) {
    error = llmErrorOf(e);
    if (error === undefined) throw e;
  }
  return { seen, error };
};

describe('a stream that works', () => {
  it('yields text in order, then exactly one usage item with the provider numbers', async () => {
    const { provider } = providerWith([
      { events: [{ type: 'usage', inputTokens: 11 }, text('a'), text(''), text('b'), FINISH, { type: 'usage', outputTokens: 7 }] },
    ]);
    const { seen, error } = await drain(provider.stream(REQ, new AbortController().signal));
    expect(error).toBeUndefined();
    expect(seen).toEqual([
      { type: 'chunk', text: 'a' },
      { type: 'chunk', text: 'b' },
      { type: 'usage', usage: { inputTokens: 11, outputTokens: 7 } },
    ]);
  });

  it('counts with the tokenizer when the provider sends no usage', async () => {
    const { provider } = providerWith([{ events: [text('Hello'), text(' world'), FINISH] }]);
    const { seen } = await drain(provider.stream(REQ, new AbortController().signal));
    expect(seen.at(-1)).toEqual({
      type: 'usage',
      usage: { inputTokens: countChatTokens('gpt-4o', REQ.messages), outputTokens: countTextTokens('gpt-4o', 'Hello world') },
    });
  });

  it('a finished answer without text still reports usage', async () => {
    const { provider } = providerWith([{ events: [FINISH, { type: 'usage', inputTokens: 5, outputTokens: 0 }] }]);
    const { seen } = await drain(provider.stream(REQ, new AbortController().signal));
    expect(seen).toEqual([{ type: 'usage', usage: { inputTokens: 5, outputTokens: 0 } }]);
  });

  it('can be iterated only once', () => {
    const { provider } = providerWith([{ events: [FINISH] }]);
    const stream = provider.stream(REQ, new AbortController().signal);
    stream[Symbol.asyncIterator]();
    expect(() => stream[Symbol.asyncIterator]()).toThrow('only once');
  });
});

describe('retries happen only before the first chunk', () => {
  it('retries failures to open and streams that end before any text', async () => {
    const { provider, calls } = providerWith([{ fail: status(503) }, { events: [] }, { events: [text('ok'), FINISH] }]);
    const { seen, error } = await drain(provider.stream(REQ, new AbortController().signal));
    expect(error).toBeUndefined();
    expect(seen[0]).toEqual({ type: 'chunk', text: 'ok' });
    expect(calls()).toBe(3);
  });

  it('never retries once text was handed out, and reports what was produced', async () => {
    const { provider, calls } = providerWith([{ events: [text('one'), text(' two')], thenFail: status(503) }, { events: [text('x'), FINISH] }]);
    const { seen, error } = await drain(provider.stream(REQ, new AbortController().signal));
    expect(seen).toEqual([
      { type: 'chunk', text: 'one' },
      { type: 'chunk', text: ' two' },
    ]);
    expect(error).toMatchObject({
      _tag: 'ProviderUnavailable',
      partialUsage: { inputTokens: countChatTokens('gpt-4o', REQ.messages), outputTokens: countTextTokens('gpt-4o', 'one two') },
    });
    expect(calls()).toBe(1);
  });

  it('treats a stream that ends without the provider finishing as broken', async () => {
    const { provider } = providerWith([{ events: [text('cut'), { type: 'usage', inputTokens: 3 }] }]);
    const { error } = await drain(provider.stream(REQ, new AbortController().signal));
    expect(error).toMatchObject({ _tag: 'ProviderUnavailable', partialUsage: { inputTokens: 3, outputTokens: 1 } });
  });

  it('does not retry what cannot succeed', async () => {
    const { provider, calls } = providerWith([{ fail: status(400) }, { events: [text('x'), FINISH] }]);
    const { error } = await drain(provider.stream(REQ, new AbortController().signal));
    expect(error).toMatchObject({ _tag: 'ProviderError', status: 400 });
    expect(calls()).toBe(1);
  });
});

describe('aborts and unknown models', () => {
  it('an already aborted signal never reaches the wire', async () => {
    const { provider, calls } = providerWith([{ events: [text('x'), FINISH] }]);
    const controller = new AbortController();
    controller.abort();
    const { error } = await drain(provider.stream(REQ, controller.signal));
    expect(error?._tag).toBe('Aborted');
    expect(calls()).toBe(0);
  });

  it('a model outside the table is refused before anything is sent', async () => {
    const { provider, calls } = providerWith([{ events: [FINISH] }]);
    const { error } = await drain(provider.stream({ ...REQ, model: 'gpt-4' }, new AbortController().signal));
    expect(error).toMatchObject({ _tag: 'UnknownModel', retryable: false });
    expect(calls()).toBe(0);
  });

  it('usageSoFar is zero before the stream opened', () => {
    const { provider } = providerWith([{ events: [FINISH] }]);
    expect(provider.stream(REQ, new AbortController().signal).usageSoFar()).toEqual({ inputTokens: 0, outputTokens: 0 });
  });
});
