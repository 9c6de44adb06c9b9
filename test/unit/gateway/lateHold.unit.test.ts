import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { makeMeteredCompletion } from '../../../application/gateway/meteredCompletion.js';
import { makeSettlements } from '../../../application/gateway/settlements.js';
import { makeAccessControl } from '../../../application/permissions/access.js';
import { silentLogger } from '../../../application/ports/clock.js';
import type { EventStore } from '../../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeInProcessRateLimiter } from '../../../adapters/inprocess/inProcessRateLimiter.js';
import type { PriceSheet } from '../../../domain/pricing/priceSheet.js';
import { makeFakeProvider } from '../../support/fakeLlmProvider.js';
import { makeTestClock, makeTestIds } from '../application/testClock.js';

/**
 * Found by the many-writer simulation (SQLite seed 12): a hold's expiry is
 * counted from the decision, and a store that stalls the append (a held write
 * lock) can make it durable only when it is already about to expire, or past
 * it, so another instance's sweeper may expire it for nothing while chunks
 * flow. Such a hold must deliver no output at all.
 */
const sheet: PriceSheet = {
  version: 'test-1',
  estimateMargin: { openai: { percent: 0, tokens: 0 }, claude: { percent: 0, tokens: 0 } },
  models: { 'gpt-x': { provider: 'openai', inputPer1k: 1000, outputPer1k: 10_000, defaultMaxTokens: 10, maxOutputTokens: 100 } },
  video: {},
};

const setup = (stallMs: number) => {
  const clock = makeTestClock();
  const ids = makeTestIds();
  const memory = makeMemoryEventStore();
  // The reserve's append is "stalled": the clock moves on by stallMs before it completes.
  const store: EventStore = {
    ...memory,
    appendToStream: (name, events, expected) => async () => {
      if (events.some((e) => e.type === 'CreditsReserved')) clock.advance(stallMs);
      return memory.appendToStream(name, events, expected)();
    },
  };
  const ledger = makeLedger({ store, clock, ids });
  const provider = makeFakeProvider('openai', ['gpt-x'], { chunks: ['a ', 'b ', 'c '], inputTokens: 4 });
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
    settlements: makeSettlements({ ledger, clock, ids, logger: silentLogger, backoff: { initialMs: 1, maxMs: 4 } }),
  });
  const got: string[] = [];
  const run = async () => {
    await ledger.grant({ accountId: 'alice', grantId: 'g', amount: 10_000 });
    return gateway.run(
      { requestId: 'req-1', userId: 'alice', preference: 'auto', model: 'gpt-x', maxTokens: 100, messages: [{ role: 'user', content: 'hello' }] },
      { chunk: (text) => got.push(text) },
      new AbortController().signal,
    );
  };
  return { got, run, ledger };
};

describe('a hold that became durable too late delivers nothing', () => {
  it('streams normally when the append is quick', async () => {
    const { got, run } = setup(100);
    const result = await run();
    expect(E.isRight(result) && result.right.ended).toBe('completed');
    expect(got).toEqual(['a ', 'b ', 'c ']);
  });

  it('sends no chunk when the append completed within the hold\'s safety margin of its expiry, and leaves nothing held', async () => {
    const { got, run, ledger } = setup(59_000); // 1 s of a 60 s hold left; the margin is 15 s
    const result = await run();
    expect(got).toEqual([]);
    expect(E.isRight(result) && result.right).toMatchObject({ ended: 'stopped', stopReason: 'holdNotExtended' });
    expect(await ledger.balance('alice')).toMatchObject({ held: 0 });
  });
});
