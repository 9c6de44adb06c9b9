import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { history } from '../../../application/credits/queries.js';
import type { CompletionRequest } from '../../../application/gateway/meteredCompletion.js';
import { makeMeteredCompletion } from '../../../application/gateway/meteredCompletion.js';
import { makeAccessControl } from '../../../application/permissions/access.js';
import { silentLogger } from '../../../application/ports/clock.js';
import type { EventStore } from '../../../application/ports/eventStore.js';
import type { ProviderCandidate } from '../../../application/ports/providerSelector.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeInProcessRateLimiter } from '../../../adapters/inprocess/inProcessRateLimiter.js';
import type { PriceSheet } from '../../../domain/pricing/priceSheet.js';
import { makeFakeProvider } from '../../support/fakeLlmProvider.js';
import { makeTestClock, makeTestIds } from '../application/testClock.js';

/** Prices chosen so each output token costs 10 credits and each input token 1. */
const sheet: PriceSheet = {
  version: 'test-1',
  estimateMargin: { openai: { percent: 0, tokens: 0 }, claude: { percent: 0, tokens: 0 } },
  models: {
    'gpt-x': { provider: 'openai', inputPer1k: 1000, outputPer1k: 10_000, defaultMaxTokens: 10, maxOutputTokens: 100 },
    'claude-x': { provider: 'claude', inputPer1k: 1000, outputPer1k: 10_000, defaultMaxTokens: 10, maxOutputTokens: 100 },
  },
  video: {},
};

const setup = (opts: { store?: EventStore; requestsPerMinute?: number } = {}) => {
  const store = opts.store ?? makeMemoryEventStore();
  const clock = makeTestClock();
  const ids = makeTestIds();
  const ledger = makeLedger({ store, clock, ids });
  const access = makeAccessControl({ store, clock, ids });
  const openai = makeFakeProvider('openai', ['gpt-x'], { chunks: ['Hello', ' world', '!'], inputTokens: 4 });
  const claude = makeFakeProvider('claude', ['claude-x'], { chunks: ['Hi', ' there'], inputTokens: 4 });
  let candidates: (model: string) => ProviderCandidate[] = (model) =>
    model === 'gpt-x' ? [{ provider: openai, model: 'gpt-x' }, { provider: claude, model: 'claude-x' }] : model === 'claude-x' ? [{ provider: claude, model }] : [];
  const limiter = makeInProcessRateLimiter({ limits: { requests: opts.requestsPerMinute ?? 1000, tokens: 1_000_000, windowMs: 60_000 }, now: clock.now });
  const gateway = makeMeteredCompletion({
    ledger,
    access,
    limiter,
    select: (_pref, model) => candidates(model),
    prices: () => sheet,
    clock,
    ids,
    logger: silentLogger,
    holdTtlMs: 60_000,
  });
  return { store, ledger, access, gateway, openai, claude, setCandidates: (f: typeof candidates) => (candidates = f) };
};

const request = (over: Partial<CompletionRequest> = {}): CompletionRequest => ({
  requestId: 'req-1',
  userId: 'alice',
  preference: 'auto',
  model: 'gpt-x',
  messages: [{ role: 'user', content: 'say hello to me' }],
  ...over,
});

const collect = () => {
  const chunks: string[] = [];
  return { chunks, sink: { chunk: (t: string) => void chunks.push(t) } };
};

const types = async (store: EventStore) => (await history(store, 'alice')).items.map((e) => e.type);

describe('metered completion', () => {
  it('streams after a durable hold and settles the exact charge', async () => {
    const { ledger, gateway, store, openai } = setup();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    const { chunks, sink } = collect();
    const result = await gateway.run(request(), sink, new AbortController().signal);
    expect(chunks).toEqual(['Hello', ' world', '!']);
    // usage: 4 input tokens (4 credits) + 3 output tokens (30 credits); hold: 4 estimated + 10 max_tokens = 104.
    expect(result).toEqual(E.right(expect.objectContaining({ provider: 'openai', usage: { inputTokens: 4, outputTokens: 3 }, charged: 34, held: 104, balance: 966, ended: 'completed' })));
    expect(openai.calls[0]?.maxTokens).toBe(10);
    expect(await types(store)).toEqual(['AccountOpened', 'CreditsGranted', 'CreditsReserved', 'ReservationSettled']);
  });

  it('refuses without credit and never calls the provider', async () => {
    const { ledger, gateway, store, openai } = setup();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 50 });
    const result = await gateway.run(request(), collect().sink, new AbortController().signal);
    expect(result).toEqual(E.left({ _tag: 'InsufficientCredits', needed: 104, available: 50 }));
    expect(openai.calls).toHaveLength(0);
    expect(await types(store)).toEqual(['AccountOpened', 'CreditsGranted']);
  });

  it('aborts the provider and streams nothing when the hold loses a race with another process', async () => {
    const base = makeMemoryEventStore();
    // Another process spends everything between our decision and our append.
    const other = makeLedger({ store: base, clock: makeTestClock(), ids: makeTestIds() });
    let raced = false;
    const racing: EventStore = {
      ...base,
      appendToStream: (name, events, expected) => async () => {
        if (!raced && events.some((e) => e.type === 'CreditsReserved')) {
          raced = true;
          await other.deduct({ accountId: 'alice', deductionId: 'elsewhere', amount: 1000, service: 'x' });
        }
        return base.appendToStream(name, events, expected)();
      },
    };
    const { ledger, gateway, openai } = setup({ store: racing });
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    openai.script = { ...openai.script, firstDelayMs: 20 };
    const { chunks, sink } = collect();
    const result = await gateway.run(request(), sink, new AbortController().signal);
    expect(result).toEqual(E.left({ _tag: 'InsufficientCredits', needed: 104, available: 0 }));
    expect(chunks).toEqual([]);
    expect(openai.calls).toHaveLength(1);
    expect(openai.aborted()).toBe(1);
  });

  it('falls back to the next provider only before the first chunk, releasing the first hold', async () => {
    const { ledger, gateway, store, openai, claude } = setup();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    openai.script = { chunks: [], failBefore: { _tag: 'ProviderUnavailable', retryable: true } };
    const { chunks, sink } = collect();
    const result = await gateway.run(request(), sink, new AbortController().signal);
    expect(chunks).toEqual(['Hi', ' there']);
    expect(E.isRight(result) && result.right).toMatchObject({ provider: 'claude', model: 'claude-x', charged: 24 });
    expect(claude.calls).toHaveLength(1);
    expect(await types(store)).toEqual(['AccountOpened', 'CreditsGranted', 'CreditsReserved', 'ReservationReleased', 'CreditsReserved', 'ReservationSettled']);
  });

  it('does not fall back after a chunk was delivered: it settles what was produced and reports the failure', async () => {
    const s = setup();
    await s.ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    s.openai.script = { chunks: ['one', 'two', 'three'], failAfter: 2, inputTokens: 4 };
    const { chunks, sink } = collect();
    const result = await s.gateway.run(request(), sink, new AbortController().signal);
    expect(chunks).toEqual(['one', 'two']);
    expect(result).toEqual(E.left(expect.objectContaining({ _tag: 'ProviderError', settled: { charged: 24, balance: 976, available: 976 } })));
    expect(s.claude.calls).toHaveLength(0);
  });

  it('a client that stops mid-stream is charged for what was produced, never more than the hold', async () => {
    const { ledger, gateway, openai } = setup();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    openai.script = { chunks: ['a', 'b', 'c', 'd', 'e', 'f'], delayMs: 30, inputTokens: 4 };
    const controller = new AbortController();
    const chunks: string[] = [];
    const result = await gateway.run(request(), { chunk: (t) => (chunks.push(t), chunks.length === 2 ? controller.abort() : undefined) }, controller.signal);
    expect(chunks).toEqual(['a', 'b']);
    expect(E.isRight(result) && result.right).toMatchObject({ ended: 'stopped', usage: { inputTokens: 4, outputTokens: 2 }, charged: 24, balance: 976 });
    expect(openai.aborted()).toBe(1);
  });

  it('refuses a user without llm:use, an unknown model, and a rate-limited user, writing nothing', async () => {
    const { ledger, gateway, access, store } = setup({ requestsPerMinute: 1 });
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    expect(await gateway.run(request({ model: 'nope' }), collect().sink, new AbortController().signal)).toEqual(E.left(expect.objectContaining({ _tag: 'InvalidRequest' })));
    expect(E.isRight(await gateway.run(request(), collect().sink, new AbortController().signal))).toBe(true);
    expect(await gateway.run(request(), collect().sink, new AbortController().signal)).toEqual(E.left(expect.objectContaining({ _tag: 'RateLimited', limit: 'requests' })));
    await access.change('alice', { userId: 'ops', trusted: true }, { type: 'Suspend', reason: 'abuse' });
    const before = (await types(store)).length;
    expect(await gateway.run(request(), collect().sink, new AbortController().signal)).toEqual(E.left({ _tag: 'Forbidden', action: 'llm:use' }));
    expect((await types(store)).length).toBe(before);
  });

  it('50 concurrent requests on a balance that covers 4: never overspends, never streams without a hold', async () => {
    const { ledger, gateway, store } = setup();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 4 * 104 + 50 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const { chunks, sink } = collect();
        return gateway.run(request({ requestId: `r${i}` }), sink, new AbortController().signal).then((r) => ({ r, chunks }));
      }),
    );
    const ok = results.filter((x) => E.isRight(x.r));
    const refused = results.filter((x) => E.isLeft(x.r));
    expect(refused.every((x) => x.chunks.length === 0)).toBe(true);
    const charged = ok.reduce((sum, x) => sum + (E.isRight(x.r) ? x.r.right.charged : 0), 0);
    const balance = await ledger.balance('alice');
    expect(charged).toBe(4 * 104 + 50 - balance.balance);
    expect(balance.balance).toBeGreaterThanOrEqual(0);
    expect(balance.held).toBe(0);
    const events = await types(store);
    expect(events.filter((t) => t === 'CreditsReserved').length).toBe(ok.length);
  });
});

describe('metered completion: cancelled before it started', () => {
  it('takes no hold and never calls the provider', async () => {
    const { ledger, gateway, store, openai } = setup();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    const controller = new AbortController();
    controller.abort();
    const result = await gateway.run(request(), collect().sink, controller.signal);
    expect(E.isRight(result) && result.right).toMatchObject({ ended: 'stopped', charged: 0, balance: 1000 });
    expect(openai.calls).toHaveLength(0);
    expect(await types(store)).toEqual(['AccountOpened', 'CreditsGranted']);
  });
});
