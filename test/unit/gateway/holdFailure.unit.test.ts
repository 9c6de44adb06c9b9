import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { makeMeteredCompletion } from '../../../application/gateway/meteredCompletion.js';
import { makeAccessControl } from '../../../application/permissions/access.js';
import { silentLogger } from '../../../application/ports/clock.js';
import { guardEventStore, isEventStoreUnavailable } from '../../../application/storeOutage.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeInProcessRateLimiter } from '../../../adapters/inprocess/inProcessRateLimiter.js';
import { classifyThrown } from '../../../adapters/llm/llmErrors.js';
import { DEFAULT_RESILIENCE, makeResilience } from '../../../adapters/llm/resilience.js';
import type { OpenWire, WireEvent } from '../../../adapters/llm/sdkProvider.js';
import { makeSdkProvider } from '../../../adapters/llm/sdkProvider.js';
import type { PriceSheet } from '../../../domain/pricing/priceSheet.js';
import { makeFailingStore } from '../../support/failingStore.js';
import { makeTestClock, makeTestIds } from '../application/testClock.js';

/**
 * Case 6 of issue 10: a hold whose append fails must abort the provider
 * request that was opened on the decision, and give its bulkhead slot back.
 * The provider here is the real SDK provider life cycle (bulkhead, breaker,
 * retries) over an in-memory wire that answers only when told to.
 */
const sheet: PriceSheet = {
  version: 'test-1',
  estimateMargin: { openai: { percent: 0, tokens: 0 }, claude: { percent: 0, tokens: 0 } },
  models: { 'gpt-x': { provider: 'openai', inputPer1k: 1000, outputPer1k: 10_000, defaultMaxTokens: 10, maxOutputTokens: 100 } },
  video: {},
};

const setup = () => {
  const failing = makeFailingStore(makeMemoryEventStore());
  const store = guardEventStore(failing);
  const clock = makeTestClock();
  const ids = makeTestIds();
  const ledger = makeLedger({ store, clock, ids });
  const access = makeAccessControl({ store, clock, ids });
  const resilience = makeResilience('openai', { ...DEFAULT_RESILIENCE, maxConcurrent: 2, maxQueued: 0, queueTimeoutMs: 200, maxRetries: 0 });
  let opened = 0;
  let aborted = 0;
  // The first text waits for `answer`: a request opened on the decision stays open until aborted.
  let answer: () => void = () => undefined;
  const openWire: OpenWire = async (_req, signal) => {
    opened += 1;
    signal.addEventListener('abort', () => (aborted += 1), { once: true });
    async function* events(): AsyncGenerator<WireEvent> {
      await new Promise<void>((resolve) => {
        answer = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      if (signal.aborted) return;
      yield { type: 'text', text: 'hello' };
      yield { type: 'usage', inputTokens: 3, outputTokens: 1 };
      yield { type: 'finish' };
    }
    return events();
  };
  const provider = makeSdkProvider({
    name: 'openai',
    models: () => ['gpt-x'],
    openWire,
    classify: (e) => classifyThrown('openai', e, Date.now()),
    resilience,
    timeouts: { connectTimeoutMs: 5_000, firstChunkTimeoutMs: 5_000, idleTimeoutMs: 5_000 },
  });
  const gateway = makeMeteredCompletion({
    ledger,
    access,
    limiter: makeInProcessRateLimiter({ limits: { requests: 1000, tokens: 1_000_000, windowMs: 60_000 }, now: clock.now }),
    select: () => [{ provider, model: 'gpt-x' }],
    prices: () => sheet,
    clock,
    ids,
    logger: silentLogger,
    holdTtlMs: 60_000,
  });
  return { failing, ledger, gateway, provider, counts: () => ({ opened, aborted }), answer: () => answer() };
};

const request = (n: number) => ({ requestId: `req-${n}`, userId: 'alice', preference: 'auto' as const, model: 'gpt-x', messages: [{ role: 'user' as const, content: 'hi' }] });
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('a hold that cannot be written', () => {
  it('aborts the opened provider request and frees its slot, so store errors never exhaust the bulkhead', async () => {
    const { failing, ledger, gateway, provider, counts, answer } = setup();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 10_000 });
    const n = 5; // more than the bulkhead's 2 slots and 0 queue places
    failing.failNext('append', n, (_stream, types) => types.includes('CreditsReserved'));
    for (let i = 0; i < n; i++) {
      const chunks: string[] = [];
      const outcome = await gateway.run(request(i), { chunk: (t) => void chunks.push(t) }, new AbortController().signal).catch((e: unknown) => e);
      expect(isEventStoreUnavailable(outcome)).toBe(true);
      expect(chunks).toEqual([]);
    }
    await settle();
    expect(counts()).toEqual({ opened: n, aborted: n });
    expect(provider.inFlight()).toBe(0);
    // The store is back: the next request gets a slot and streams.
    const chunks: string[] = [];
    const next = gateway.run(request(99), { chunk: (t) => void chunks.push(t) }, new AbortController().signal);
    await settle();
    answer();
    const done = await next;
    expect(E.isRight(done)).toBe(true);
    expect(chunks).toEqual(['hello']);
    expect(await ledger.balance('alice')).toMatchObject({ held: 0 });
  });
});
