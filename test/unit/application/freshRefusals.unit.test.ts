import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import type { EventStore, RecordedEvent } from '../../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeTestClock, makeTestIds } from './testClock.js';

/**
 * Issue 10 case 3: two "processes" (two ledgers, each with its own command
 * handler and cache) on one store. A refusal must be decided on what the
 * store holds, not on a cache another process has made stale.
 */
const counting = (store: EventStore) => {
  const counter = { reads: 0 };
  const wrapped: EventStore = {
    ...store,
    readStream: async function* (name, options) {
      counter.reads++;
      for await (const e of store.readStream(name, options) as AsyncIterable<RecordedEvent>) yield e;
    },
  };
  return { store: wrapped, counter };
};

const setup = () => {
  const shared = makeMemoryEventStore();
  const clock = makeTestClock();
  const a = counting(shared);
  const ledgerA = makeLedger({ store: a.store, clock, ids: makeTestIds() });
  const ledgerB = makeLedger({ store: shared, clock, ids: makeTestIds() });
  return { ledgerA, ledgerB, clock, readsOfA: a.counter };
};

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`);
  return e.right;
};

describe('refusals are decided on fresh state', () => {
  it('a grant written by another process is seen by the very next command after a 402', async () => {
    const { ledgerA, ledgerB } = setup();
    right(await ledgerA.grant({ accountId: 'acc', grantId: 'g1', amount: 10 }));
    const refused = await ledgerA.deduct({ accountId: 'acc', deductionId: 'd1', amount: 50, service: 'x' });
    expect(E.isLeft(refused) && refused.left._tag).toBe('InsufficientCredits');
    right(await ledgerB.grant({ accountId: 'acc', grantId: 'g2', amount: 100 }));
    const accepted = right(await ledgerA.deduct({ accountId: 'acc', deductionId: 'd1', amount: 50, service: 'x' }));
    expect(accepted).toMatchObject({ balance: 60, duplicate: false });
  });

  it('an accepted command reads nothing; a refusal reads the tail once', async () => {
    const { ledgerA, readsOfA } = setup();
    right(await ledgerA.grant({ accountId: 'acc', grantId: 'g1', amount: 100 }));
    const before = readsOfA.reads;
    for (let i = 0; i < 5; i++) right(await ledgerA.deduct({ accountId: 'acc', deductionId: `d${i}`, amount: 1, service: 'x' }));
    expect(readsOfA.reads).toBe(before);
    const refused = await ledgerA.deduct({ accountId: 'acc', deductionId: 'big', amount: 1000, service: 'x' });
    expect(E.isLeft(refused)).toBe(true);
    expect(readsOfA.reads).toBe(before + 1);
  });

  it('settles a hold another process took, instead of answering ReservationNotFound', async () => {
    const { ledgerA, ledgerB } = setup();
    right(await ledgerA.grant({ accountId: 'acc', grantId: 'g1', amount: 100 }));
    right(await ledgerB.reserve({ accountId: 'acc', reservationId: 'r', amount: 40, ttlMs: 60_000, purpose: { service: 'sora2' } }));
    const settled = right(await ledgerA.settle({ accountId: 'acc', reservationId: 'r', charge: 30, usage: { videoSeconds: 4 }, priceSheetVersion: 'v1' }));
    expect(settled).toMatchObject({ charged: 30, balance: 70, held: 0 });
  });

  it("a sweep expires a hold a dead process took, though this process's cache never saw it", async () => {
    const { ledgerA, ledgerB, clock } = setup();
    right(await ledgerA.grant({ accountId: 'acc', grantId: 'g1', amount: 100 }));
    right(await ledgerB.reserve({ accountId: 'acc', reservationId: 'r', amount: 40, ttlMs: 1_000, purpose: { service: 'llm' } }));
    clock.advance(1_000);
    const swept = right(await ledgerA.sweep('acc'));
    expect(swept.expired.map((e) => e.type)).toEqual(['ReservationExpired']);
    expect(swept).toMatchObject({ held: 0, available: 100 });
  });
});
