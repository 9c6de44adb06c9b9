import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { LlmProvider } from '../../../application/ports/llmProvider.js';
import { makeOpenAiProvider } from '../../../adapters/llm/openai/openaiProvider.js';
import type { BreakerState, ResilienceOptions } from '../../../adapters/llm/resilience.js';
import type { SseFixture } from '../../support/openaiFixture.js';
import { startOpenAiFixture } from '../../support/openaiFixture.js';
import { FAST, ask, collect, sleep } from './llmTestKit.js';

/** Circuit breaker and bulkhead of one provider, against the OpenAI fixture. */

let fixture: SseFixture;
let breaker: BreakerState[] = [];
const provider = (over: Partial<ResilienceOptions> = {}): LlmProvider =>
  makeOpenAiProvider({
    apiKey: 'sk-test',
    baseURL: fixture.baseURL,
    models: () => ['gpt-4o-mini'],
    resilience: { ...FAST, ...over },
    hooks: { onBreaker: (e) => breaker.push(e.state) },
  });

beforeAll(async () => {
  fixture = await startOpenAiFixture();
});
afterAll(() => fixture.close());
beforeEach(() => {
  fixture.reset();
  breaker = [];
});

const run = (p: LlmProvider, signal = new AbortController().signal) => collect(p.stream(ask('gpt-4o-mini'), signal));

describe('circuit breaker', () => {
  it('opens after consecutive failures, refuses without calling, then closes after a good probe', async () => {
    const p = provider({ maxRetries: 0 });
    fixture.setDefault({ fault: { kind: 'status', status: 503 } });
    for (let i = 0; i < 3; i += 1) expect((await run(p)).error?.status).toBe(503);
    expect(breaker).toEqual(['open']);
    expect(p.available()).toBe(false);

    const refused = await run(p);
    expect(refused.error).toMatchObject({ _tag: 'ProviderUnavailable', message: 'circuit breaker is open' });
    expect(fixture.requests).toHaveLength(3);

    await sleep(320);
    expect(p.available()).toBe(true);
    fixture.setDefault({});
    const probe = await run(p);
    expect(probe.error).toBeUndefined();
    expect(breaker).toEqual(['open', 'halfOpen', 'closed']);
    expect(fixture.requests).toHaveLength(4);
  });

  it('a failed probe opens it again at once', async () => {
    const p = provider({ maxRetries: 0 });
    fixture.setDefault({ fault: { kind: 'status', status: 500 } });
    for (let i = 0; i < 3; i += 1) await run(p);
    await sleep(320);
    await run(p);
    expect(breaker).toEqual(['open', 'halfOpen', 'open']);
    expect(p.available()).toBe(false);
  });

  it('stops retrying as soon as it opens', async () => {
    const p = provider({ maxRetries: 5, breakerThreshold: 2 });
    fixture.setDefault({ fault: { kind: 'status', status: 503 } });
    const got = await run(p);
    expect(got.error?.message).toBe('circuit breaker is open');
    expect(fixture.requests).toHaveLength(2);
  });

  it('counts failures after the first chunk too, but not client aborts or bad requests', async () => {
    const p = provider({ maxRetries: 0, breakerThreshold: 2 });
    fixture.enqueue({ fault: { kind: 'status', status: 400 } }, { fault: { kind: 'status', status: 400 } });
    await run(p);
    await run(p);
    expect(p.available()).toBe(true);
    fixture.enqueue({ fault: { kind: 'resetAfter', chunks: 2 } }, { fault: { kind: 'stopAfter', chunks: 1 } });
    await run(p);
    await run(p);
    await sleep(5);
    expect(breaker).toEqual(['open']);
  });
});

describe('bulkhead', () => {
  it('queues within its bounds, refuses beyond them, and times out waiters', async () => {
    const p = provider({ maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 150, idleTimeoutMs: 1_000, firstChunkTimeoutMs: 1_000 });
    fixture.enqueue({ chunkDelayMs: 60 });
    const slow = run(p);
    await sleep(30);
    const waiting = run(p);
    const refused = await run(p);
    expect(refused.error).toMatchObject({ _tag: 'ProviderUnavailable', message: 'request queue is full' });
    expect(p.inFlight()).toBe(2);
    expect(p.available()).toBe(false);
    expect((await waiting).error).toMatchObject({ _tag: 'ProviderUnavailable', message: 'no free slot within 150 ms' });
    expect((await slow).error).toBeUndefined();
    expect(p.inFlight()).toBe(0);
    // The waiter that gave up must not hold up the queue for the next request.
    const next = await run(p);
    expect(next.error).toBeUndefined();
    expect(fixture.requests).toHaveLength(2);
  });

  it('an abort frees the slot even when the stream is never read again', async () => {
    const p = provider({ maxConcurrent: 1, maxQueued: 0, idleTimeoutMs: 1_000 });
    fixture.enqueue({ chunkDelayMs: 50 });
    const controller = new AbortController();
    const it = p.stream(ask('gpt-4o-mini'), controller.signal)[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: 'chunk', text: 'Hello' });
    expect(p.inFlight()).toBe(1);
    controller.abort();
    expect(p.inFlight()).toBe(0);
    await expect(fixture.requests[0]?.outcome).resolves.toBe('closedByClient');
    expect((await run(p)).error).toBeUndefined();
  });

  it('a queued request runs when a slot frees, and an abort while queued leaves at once', async () => {
    const p = provider({ maxConcurrent: 1, maxQueued: 2, queueTimeoutMs: 2_000, idleTimeoutMs: 1_000, firstChunkTimeoutMs: 1_000 });
    fixture.enqueue({ chunkDelayMs: 30 });
    const first = run(p);
    await sleep(20);
    const controller = new AbortController();
    const aborted = run(p, controller.signal);
    const queued = run(p);
    controller.abort();
    expect((await aborted).error?._tag).toBe('Aborted');
    expect((await first).error).toBeUndefined();
    expect((await queued).error).toBeUndefined();
    expect(fixture.requests).toHaveLength(2);
  });
});
