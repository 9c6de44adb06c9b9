import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { history } from '../../../application/credits/queries.js';
import type { CompletionDone, OutputCounter } from '../../../application/gateway/meteredCompletion.js';
import { makeMeteredCompletion } from '../../../application/gateway/meteredCompletion.js';
import { makeSettlements } from '../../../application/gateway/settlements.js';
import { makeAccessControl } from '../../../application/permissions/access.js';
import { silentLogger } from '../../../application/ports/clock.js';
import type { LlmProvider, StreamItem } from '../../../application/ports/llmProvider.js';
import { llmFailure } from '../../../application/ports/llmProvider.js';
import { guardEventStore } from '../../../application/storeOutage.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeInProcessRateLimiter } from '../../../adapters/inprocess/inProcessRateLimiter.js';
import { makeTextTokenCounter } from '../../../adapters/llm/tokenizer.js';
import type { PriceSheet } from '../../../domain/pricing/priceSheet.js';
import { makeFakeProvider } from '../../support/fakeLlmProvider.js';
import { makeFailingStore } from '../../support/failingStore.js';
import { makeTestClock, makeTestIds } from '../application/testClock.js';

/**
 * Issue 10, cases 4 and 5: a stream never outlives its hold (progress keeps
 * it alive, a hold that cannot be kept stops the stream), and a settle the
 * store cannot take now is retried until it is written, exactly once.
 * Time is a test clock the sink moves: each chunk "takes" 10 s.
 */
const sheet: PriceSheet = {
  version: 'test-1',
  estimateMargin: { openai: { percent: 0, tokens: 0 }, claude: { percent: 0, tokens: 0 } },
  models: { 'gpt-x': { provider: 'openai', inputPer1k: 1000, outputPer1k: 10_000, defaultMaxTokens: 10, maxOutputTokens: 100 } },
  video: {},
};
const CHUNK_MS = 10_000;

/** A stand-in for the tokenizer's running count: one token per word, fed piece by piece. */
const wordCounter = (): OutputCounter => {
  let text = '';
  return {
    add: (piece) => {
      text += piece;
    },
    total: () => text.split(' ').filter((w) => w.length > 0).length,
  };
};
const chunks = Array.from({ length: 20 }, (_, i) => `w${i} `);

const setup = (opts: { streamMaxMs?: number } = {}) => {
  const failing = makeFailingStore(makeMemoryEventStore());
  const store = guardEventStore(failing);
  const clock = makeTestClock();
  const ids = makeTestIds();
  const ledger = makeLedger({ store, clock, ids });
  // Another instance on the same store, whose sweeper expires holds it sees as due.
  const other = makeLedger({ store, clock, ids: makeTestIds() });
  const provider = makeFakeProvider('openai', ['gpt-x'], { chunks, inputTokens: 4 });
  const settlements = makeSettlements({ ledger, clock, ids, logger: silentLogger, backoff: { initialMs: 1, maxMs: 4 } });
  const gateway = makeMeteredCompletion({
    ledger,
    access: makeAccessControl({ store, clock, ids }),
    limiter: makeInProcessRateLimiter({ limits: { requests: 1000, tokens: 1_000_000, windowMs: 60_000 }, now: clock.now }),
    select: () => [{ provider, model: 'gpt-x' }],
    prices: () => sheet,
    clock,
    ids,
    logger: silentLogger,
    holdTtlMs: 60_000,
    progressMs: 5_000,
    settlements,
    ...(opts.streamMaxMs === undefined ? {} : { streamMaxMs: opts.streamMaxMs }),
  });
  const sweeps: Promise<unknown>[] = [];
  const got: string[] = [];
  const sink = {
    chunk: (text: string) => {
      got.push(text);
      clock.advance(CHUNK_MS);
      sweeps.push(other.sweep('alice').catch(() => undefined));
    },
  };
  const run = async () => {
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 10_000 });
    const result = await gateway.run(
      { requestId: 'req-1', userId: 'alice', preference: 'auto', model: 'gpt-x', maxTokens: 100, messages: [{ role: 'user', content: 'a long answer please' }] },
      sink,
      new AbortController().signal,
    );
    await Promise.all(sweeps);
    return result;
  };
  const events = async () => (await history(store, 'alice', { limit: 1000 })).items;
  return { failing, clock, ledger, other, settlements, got, run, events };
};

const doneOf = (result: E.Either<unknown, CompletionDone>): CompletionDone => {
  if (E.isLeft(result)) throw new Error(`expected done, got ${JSON.stringify(result.left)}`);
  return result.right;
};

// 4 input tokens = 4 credits; 10 credits per output token (one per chunk); the hold is 4 + 100 * 10.
const cost = (delivered: number) => 4 + 10 * delivered;

describe('a stream never outlives its hold (case 4)', () => {
  it('records progress while it runs, so a stream six times longer than the hold TTL is neither expired nor free', async () => {
    const { run, got, events } = setup();
    const done = doneOf(await run());
    expect(got).toHaveLength(20); // 200 s of streaming against a 60 s hold TTL, with another instance sweeping after every chunk
    expect(done).toMatchObject({ ended: 'completed', charged: cost(20), held: 1004 });
    const types = (await events()).map((e) => e.type);
    expect(types).not.toContain('ReservationExpired');
    expect(types.filter((t) => t === 'ReservationProgressed').length).toBeGreaterThanOrEqual(10);
    expect(types.at(-1)).toBe('ReservationSettled');
  });

  it('stops and settles a stream whose hold cannot be extended (progress writes failing), before the hold runs out', async () => {
    const { run, got, failing, ledger } = setup();
    failing.failNext('append', 1_000, (_s, types) => types.includes('ReservationProgressed'));
    const done = doneOf(await run());
    expect(done).toMatchObject({ ended: 'stopped', stopReason: 'holdNotExtended' });
    // Stopped once within the safety margin (a quarter of the 60 s TTL) of the expiry: after 5 chunks of 10 s.
    expect(got).toHaveLength(5);
    expect(done.charged).toBe(cost(got.length));
    expect(await ledger.balance('alice')).toMatchObject({ balance: 10_000 - cost(got.length), held: 0 });
  });

  it('stops a stream at STREAM_MAX_MS and charges what it delivered', async () => {
    const { run, got } = setup({ streamMaxMs: 30_000 });
    const done = doneOf(await run());
    expect(done).toMatchObject({ ended: 'stopped', stopReason: 'streamMax', charged: cost(3) });
    expect(got).toHaveLength(3);
  });
});

describe('settlement never gives up (case 5)', () => {
  it('a settle the store cannot take is pending in done, retried in the background, and written once', async () => {
    const { run, failing, settlements, events, ledger } = setup();
    failing.failNext('append', 6, (_s, types) => types.includes('ReservationSettled'));
    const done = doneOf(await run());
    expect(done).toMatchObject({ ended: 'completed', charged: cost(20), pending: true, balance: 10_000 - cost(20) });
    await settlements.drained();
    expect(failing.failures.append).toBe(6);
    expect((await events()).filter((e) => e.type === 'ReservationSettled')).toEqual([expect.objectContaining({ data: expect.objectContaining({ charged: cost(20) }) })]);
    expect(await ledger.balance('alice')).toMatchObject({ balance: 10_000 - cost(20), held: 0 });
  });

  it('a settle whose append committed but whose answer was lost is not charged twice', async () => {
    const { run, failing, settlements, events } = setup();
    failing.failNext('appendAfterCommit', 1, (_s, types) => types.includes('ReservationSettled'));
    const done = doneOf(await run());
    await settlements.drained();
    expect(done.charged).toBe(cost(20));
    expect((await events()).filter((e) => e.type === 'ReservationSettled')).toHaveLength(1);
  });

  it('when the settle never lands (the process died), the hold expiry charges the last progress: at most one interval is lost', async () => {
    const { run, failing, clock, other, events } = setup();
    failing.failNext('append', 1_000_000, (_s, types) => types.includes('ReservationSettled'));
    const done = doneOf(await run());
    expect(done.pending).toBe(true);
    // "Restart": another instance sweeps once the hold's last extended expiry has passed.
    clock.advance(61_000);
    await other.sweep('alice');
    const expired = (await events()).find((e) => e.type === 'ReservationExpired');
    const charged = (expired?.data as { charged?: number } | undefined)?.charged ?? 0;
    // Progress is recorded at most every 5 s and a chunk takes 10 s: the last record misses at most one chunk.
    expect(charged).toBeGreaterThanOrEqual(cost(19));
    expect(charged).toBeLessThanOrEqual(cost(20));
  });
});

describe('what a stopped request costs (policy in docs/architecture.md)', () => {
  const base = () => {
    const store = makeMemoryEventStore();
    const clock = makeTestClock();
    const ids = makeTestIds();
    const ledger = makeLedger({ store, clock, ids });
    const provider = makeFakeProvider('openai', ['gpt-x'], { chunks: ['one', ' two', ' three'], inputTokens: 4 });
    const make = (outputCounter?: () => OutputCounter) =>
      makeMeteredCompletion({
        ledger,
        access: makeAccessControl({ store, clock, ids }),
        limiter: makeInProcessRateLimiter({ limits: { requests: 1000, tokens: 1_000_000, windowMs: 60_000 }, now: clock.now }),
        select: () => [{ provider, model: 'gpt-x' }],
        prices: () => sheet,
        clock,
        ids,
        logger: silentLogger,
        holdTtlMs: 60_000,
        ...(outputCounter === undefined ? {} : { outputCounter }),
      });
    const req = { requestId: 'r', userId: 'alice', preference: 'auto' as const, model: 'gpt-x', messages: [{ role: 'user' as const, content: 'hello there' }] };
    return { ledger, provider, make, req };
  };

  it('never takes the provider\'s reported output below the gateway\'s own count of what it streamed', async () => {
    const { ledger, provider, make, req } = base();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    // The provider under-reports: 3 chunks streamed, 1 output token reported.
    const underReporting = { ...provider, stream: (r: Parameters<typeof provider.stream>[0], s: AbortSignal) => {
      const inner = provider.stream(r, s);
      return Object.assign((async function* () {
        for await (const item of inner) yield item.type === 'usage' ? { type: 'usage' as const, usage: { inputTokens: 4, outputTokens: 1 } } : item;
      })(), { usageSoFar: inner.usageSoFar });
    } };
    const gateway = makeMeteredCompletion({
      ledger, access: makeAccessControl({ store: makeMemoryEventStore(), clock: makeTestClock(), ids: makeTestIds() }),
      limiter: makeInProcessRateLimiter({ limits: { requests: 1000, tokens: 1_000_000, windowMs: 60_000 }, now: Date.now }),
      select: () => [{ provider: underReporting, model: 'gpt-x' }], prices: () => sheet, clock: makeTestClock(), ids: makeTestIds(), logger: silentLogger, holdTtlMs: 60_000,
      outputCounter: wordCounter,
    });
    const done = doneOf(await gateway.run(req, { chunk: () => undefined }, new AbortController().signal));
    expect(done.usage).toEqual({ inputTokens: 4, outputTokens: 3 });
    expect(done.charged).toBe(4 + 30);
    // An honest report is charged the same.
    const plain = doneOf(await make().run({ ...req, requestId: 'r2' }, { chunk: () => undefined }, new AbortController().signal));
    expect(plain.charged).toBe(4 + 30);
  });

  it('charges a long answer what the provider reported when the gateway counts the same (no byte-per-token floor past 4 KiB)', async () => {
    const longSheet: PriceSheet = { ...sheet, models: { 'gpt-long': { provider: 'openai', inputPer1k: 1000, outputPer1k: 1000, defaultMaxTokens: 3000, maxOutputTokens: 3000 } } };
    const store = makeMemoryEventStore();
    const clock = makeTestClock();
    const ids = makeTestIds();
    const ledger = makeLedger({ store, clock, ids });
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 100_000 });
    // 2,000 chunks of " the", one o200k token each: 8,000 bytes, and the fake reports one token per chunk.
    const provider = makeFakeProvider('openai', ['gpt-long'], { chunks: Array.from({ length: 2000 }, () => ' the'), inputTokens: 4 });
    const gateway = makeMeteredCompletion({
      ledger, access: makeAccessControl({ store, clock, ids }),
      limiter: makeInProcessRateLimiter({ limits: { requests: 1000, tokens: 1_000_000, windowMs: 60_000 }, now: clock.now }),
      select: () => [{ provider, model: 'gpt-long' }], prices: () => longSheet, clock, ids, logger: silentLogger, holdTtlMs: 60_000,
      outputCounter: makeTextTokenCounter,
    });
    const req = { requestId: 'long', userId: 'alice', preference: 'auto' as const, model: 'gpt-long', maxTokens: 3000, messages: [{ role: 'user' as const, content: 'go' }] };
    const done = doneOf(await gateway.run(req, { chunk: () => undefined }, new AbortController().signal));
    expect(done.usage).toEqual({ inputTokens: 4, outputTokens: 2000 });
    expect(done.charged).toBe(4 + 2000);
  });

  it('a client that cancels after the provider started (before any output) pays the input tokens only', async () => {
    const { ledger, provider, req } = base();
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 1000 });
    // A provider that accepted the request and counted the prompt (Anthropic's message_start), then thinks silently.
    const thinking: LlmProvider = {
      ...provider,
      stream: (_r, signal) =>
        Object.assign(
          (async function* (): AsyncGenerator<StreamItem> {
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            if (!signal.aborted) yield { type: 'chunk', text: 'never' };
            throw llmFailure({ _tag: 'Aborted', provider: 'openai', message: 'aborted', retryable: false, partialUsage: { inputTokens: 4, outputTokens: 0 } });
          })(),
          { usageSoFar: () => ({ inputTokens: 4, outputTokens: 0 }) },
        ),
    };
    const clock = makeTestClock();
    const gateway = makeMeteredCompletion({
      ledger, access: makeAccessControl({ store: makeMemoryEventStore(), clock, ids: makeTestIds() }),
      limiter: makeInProcessRateLimiter({ limits: { requests: 1000, tokens: 1_000_000, windowMs: 60_000 }, now: Date.now }),
      select: () => [{ provider: thinking, model: 'gpt-x' }], prices: () => sheet, clock, ids: makeTestIds(), logger: silentLogger, holdTtlMs: 60_000,
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const done = doneOf(await gateway.run(req, { chunk: () => undefined }, controller.signal));
    expect(done).toMatchObject({ ended: 'stopped', charged: 4, usage: { inputTokens: 4, outputTokens: 0 } });
    expect(await ledger.balance('alice')).toMatchObject({ balance: 996, held: 0 });
  });
});
