import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { balanceAt, history } from '../../../application/credits/queries.js';
import type { EventStore } from '../../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeTestClock, makeTestIds } from './testClock.js';

const setup = (store: EventStore = makeMemoryEventStore()) => {
  const clock = makeTestClock();
  const ledger = makeLedger({ store, clock, ids: makeTestIds() });
  return { store, clock, ledger };
};

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`);
  return e.right;
};

describe('ledger use cases', () => {
  it('answers a repeated command with the first outcome and records nothing', async () => {
    const { ledger, store } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 }));
    const first = right(await ledger.deduct({ accountId: 'a', deductionId: 'd', amount: 30, service: 'sora2' }));
    right(await ledger.deduct({ accountId: 'a', deductionId: 'd2', amount: 70, service: 'sora2' }));
    const again = right(await ledger.deduct({ accountId: 'a', deductionId: 'd', amount: 30, service: 'sora2' }));
    expect(first).toMatchObject({ amount: 30, duplicate: false, balance: 70 });
    expect(again).toMatchObject({ amount: 30, duplicate: true, balance: 0 });
    const page = await history(store, 'a');
    expect(page.items.filter((e) => e.type === 'CreditsDeducted')).toHaveLength(2);
  });

  it('reserve then settle charges the actual amount and releases the rest', async () => {
    const { ledger } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 }));
    const hold = right(await ledger.reserve({ accountId: 'a', reservationId: 'r', amount: 60, ttlMs: 1000, purpose: { service: 'llm', model: 'gpt-4o' } }));
    expect(hold).toMatchObject({ amount: 60, available: 40, held: 60 });
    const settled = right(await ledger.settle({ accountId: 'a', reservationId: 'r', charge: 25, usage: { outputTokens: 5 }, priceSheetVersion: 'v1' }));
    expect(settled).toMatchObject({ charged: 25, released: 35, balance: 75, available: 75 });
    const repeat = right(await ledger.settle({ accountId: 'a', reservationId: 'r', charge: 25, usage: { outputTokens: 5 }, priceSheetVersion: 'v1' }));
    expect(repeat).toMatchObject({ charged: 25, released: 35, duplicate: true });
  });

  it('the sweeper expires holds whose time has passed', async () => {
    const { ledger, clock } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 }));
    right(await ledger.reserve({ accountId: 'a', reservationId: 'r', amount: 60, ttlMs: 1000, purpose: { service: 'llm' } }));
    expect(right(await ledger.sweep('a')).expired).toHaveLength(0);
    clock.advance(1000);
    const swept = right(await ledger.sweep('a'));
    expect(swept.expired.map((e) => e.type)).toEqual(['ReservationExpired']);
    expect(swept).toMatchObject({ available: 100, held: 0 });
  });

  it('gives the balance at a past instant', async () => {
    // "At T" is by the store's commit time (issue 10 case 8): the store shares the test clock.
    const clock = makeTestClock();
    const store = makeMemoryEventStore({ now: clock.now });
    const ledger = makeLedger({ store, clock, ids: makeTestIds() });
    const t0 = clock.now();
    right(await ledger.grant({ accountId: 'a', grantId: 'g1', amount: 100 }));
    clock.advance(10_000);
    right(await ledger.deduct({ accountId: 'a', deductionId: 'd', amount: 40, service: 'x' }));
    expect(await balanceAt(store, 'a', t0 + 5_000)).toMatchObject({ balance: 100 });
    expect(await balanceAt(store, 'a', t0 + 10_000)).toMatchObject({ balance: 60 });
    expect(await balanceAt(store, 'a', t0 - 1)).toMatchObject({ exists: false, balance: 0 });
  });

  it('check reports whether an amount can be held now', async () => {
    const { ledger } = setup();
    expect(await ledger.check('nobody', 1)).toMatchObject({ canSpend: false, available: 0 });
    right(await ledger.grant({ accountId: 'a', grantId: 'g', amount: 10 }));
    expect(await ledger.check('a', 10)).toMatchObject({ canSpend: true });
    expect(await ledger.check('a', 11)).toMatchObject({ canSpend: false, available: 10 });
    expect(await ledger.check('a', 1.5)).toMatchObject({ canSpend: false });
  });
});

describe('command handler concurrency', () => {
  it('two processes (two handlers, one store) never overspend one account', async () => {
    const store = makeMemoryEventStore();
    const a = setup(store).ledger;
    const b = setup(store).ledger;
    right(await a.grant({ accountId: 'hot', grantId: 'g', amount: 1000 }));
    // Both "processes" have cached the account before the race starts.
    await a.balance('hot');
    await b.balance('hot');
    const attempts = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).deduct({ accountId: 'hot', deductionId: `d${i}`, amount: 30, service: 'x' }));
    const results = await Promise.all(attempts);
    const ok = results.filter(E.isRight).length;
    expect(ok).toBe(33); // floor(1000 / 30)
    expect(results.filter(E.isLeft).every((r) => E.isLeft(r) && r.left._tag === 'InsufficientCredits')).toBe(true);
    expect(await a.balance('hot')).toMatchObject({ balance: 10 });
    expect(await b.balance('hot')).toMatchObject({ balance: 10 });
  });

  it('a stale cache in one process is caught up after a conflict, not overwritten', async () => {
    const store = makeMemoryEventStore();
    const a = setup(store).ledger;
    const b = setup(store).ledger;
    right(await a.grant({ accountId: 'x', grantId: 'g', amount: 100 }));
    right(await b.deduct({ accountId: 'x', deductionId: 'd1', amount: 10, service: 's' }));
    // a's cache still says revision 1 / balance 100: its next command must conflict, catch up and decide again.
    right(await a.deduct({ accountId: 'x', deductionId: 'd2', amount: 90, service: 's' }));
    const over = await a.deduct({ accountId: 'x', deductionId: 'd3', amount: 1, service: 's' });
    expect(E.isLeft(over) && over.left).toMatchObject({ _tag: 'InsufficientCredits', available: 0 });
  });

  it('commands that queue up on a hot account are decided in order and appended together', async () => {
    const base = makeMemoryEventStore();
    let appends = 0;
    const counting: EventStore = {
      ...base,
      appendToStream: (name, events, expected) => {
        appends++;
        return base.appendToStream(name, events, expected);
      },
    };
    const { ledger, store } = setup(counting);
    right(await ledger.grant({ accountId: 'hot', grantId: 'g', amount: 100 }));
    appends = 0;
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.deduct({ accountId: 'hot', deductionId: `d${i}`, amount: 3, service: 'x' })));
    expect(results.filter(E.isRight)).toHaveLength(33);
    // Each success saw the balance left by the ones decided before it.
    expect(results.slice(0, 33).map((r) => (E.isRight(r) ? r.right.balance : -1))).toEqual(Array.from({ length: 33 }, (_, i) => 100 - 3 * (i + 1)));
    expect(appends).toBeLessThan(5);
    const page = await history(store, 'hot', { limit: 1000 });
    expect(page.items.map((e) => e.revision)).toEqual(Array.from({ length: 35 }, (_, i) => i));
  });

  it('a failed batch append drops the speculative state and decides again from the store', async () => {
    const base = makeMemoryEventStore();
    let fail = false;
    const flaky: EventStore = {
      ...base,
      appendToStream: (name, events, expected) => {
        if (fail) {
          fail = false;
          return async () => {
            throw new Error('disk full');
          };
        }
        return base.appendToStream(name, events, expected);
      },
    };
    const { ledger } = setup(flaky);
    right(await ledger.grant({ accountId: 'x', grantId: 'g', amount: 10 }));
    fail = true;
    await expect(ledger.deduct({ accountId: 'x', deductionId: 'd1', amount: 10, service: 's' })).rejects.toThrow('disk full');
    // The refused append left no trace in the cache: the full balance is still there.
    expect(await ledger.balance('x')).toMatchObject({ balance: 10 });
    right(await ledger.deduct({ accountId: 'x', deductionId: 'd1', amount: 10, service: 's' }));
  });
});

describe('ledger.progress', () => {
  it('records progress, extends the hold, and an expiry after a crash charges it', async () => {
    const { ledger, clock } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 }));
    right(await ledger.reserve({ accountId: 'a', reservationId: 'r', amount: 60, ttlMs: 1000, purpose: { service: 'llm' } }));
    clock.advance(800);
    const first = right(await ledger.progress({ accountId: 'a', reservationId: 'r', charge: 12, usage: { outputTokens: 12 }, priceSheetVersion: 'v1', ttlMs: 1000 }));
    expect(first).toMatchObject({ reservationId: 'r', charged: 12, expiresAt: clock.now() + 1000, balance: 100, held: 60, duplicate: false });
    // The original expiry has passed, but the progress moved it on.
    clock.advance(800);
    expect(right(await ledger.sweep('a')).expired).toHaveLength(0);
    const regressed = await ledger.progress({ accountId: 'a', reservationId: 'r', charge: 11, usage: {}, priceSheetVersion: 'v1', ttlMs: 1000 });
    expect(E.isLeft(regressed) && regressed.left._tag).toBe('ProgressRegressed');
    clock.advance(200);
    const swept = right(await ledger.sweep('a'));
    expect(swept.expired).toEqual([
      { type: 'ReservationExpired', data: { reservationId: 'r', amount: 60, at: clock.now(), charged: 12, usage: { outputTokens: 12 }, priceSheetVersion: 'v1' } },
    ]);
    expect(swept).toMatchObject({ balance: 88, held: 0, available: 88 });
    const late = await ledger.progress({ accountId: 'a', reservationId: 'r', charge: 20, usage: {}, priceSheetVersion: 'v1', ttlMs: 1000 });
    expect(E.isLeft(late) && late.left._tag).toBe('ReservationAlreadyResolved');
  });

  it('refuses to extend a hold whose expiry passed before any sweep', async () => {
    const { ledger, clock } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 }));
    right(await ledger.reserve({ accountId: 'a', reservationId: 'r', amount: 60, ttlMs: 1000, purpose: { service: 'llm' } }));
    clock.advance(1000);
    const result = await ledger.progress({ accountId: 'a', reservationId: 'r', charge: 5, usage: {}, priceSheetVersion: 'v1', ttlMs: 1000 });
    expect(E.isLeft(result) && result.left._tag).toBe('ReservationExpiredAlready');
  });
});

describe('ledger: burn-down and refunds of any charge', () => {
  it('issue 10 case 1: a promo expiring under an open hold does not destroy paid credit', async () => {
    const { ledger, clock } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'promo', amount: 100, expiresAt: clock.now() + 3_000 }));
    right(await ledger.grant({ accountId: 'a', grantId: 'paid', amount: 100 }));
    right(await ledger.reserve({ accountId: 'a', reservationId: 'r', amount: 100, ttlMs: 600_000, purpose: { service: 'llm' } }));
    clock.advance(5_000);
    right(await ledger.sweep('a'));
    const settled = right(await ledger.settle({ accountId: 'a', reservationId: 'r', charge: 100, usage: {}, priceSheetVersion: 'v1' }));
    expect(settled).toMatchObject({ balance: 100, available: 100 });
  });

  it('issue 10 case 2: credit past its expiry is not spendable before any sweep, and not shown as available', async () => {
    const { ledger, clock } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'promo', amount: 100, expiresAt: clock.now() + 3_000 }));
    clock.advance(5_000);
    expect(await ledger.check('a', 1)).toMatchObject({ canSpend: false, balance: 100, available: 0 });
    const refused = await ledger.deduct({ accountId: 'a', deductionId: 'd', amount: 10, service: 'x' });
    expect(E.isLeft(refused) && refused.left).toEqual({ _tag: 'InsufficientCredits', requested: 10, available: 0 });
  });

  it('refunds a settled hold partly and idempotently, never beyond its charge', async () => {
    const { ledger } = setup();
    right(await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 }));
    right(await ledger.reserve({ accountId: 'a', reservationId: 'r', amount: 60, ttlMs: 1000, purpose: { service: 'sora2' } }));
    right(await ledger.settle({ accountId: 'a', reservationId: 'r', charge: 50, usage: { videoSeconds: 4 }, priceSheetVersion: 'v1' }));
    const first = right(await ledger.refundSettlement({ accountId: 'a', refundId: 'f1', reservationId: 'r', amount: 20, reason: 'bad video' }));
    expect(first).toMatchObject({ refundId: 'f1', amount: 20, balance: 70, duplicate: false });
    expect(right(await ledger.refundSettlement({ accountId: 'a', refundId: 'f1', reservationId: 'r', amount: 20 }))).toMatchObject({ duplicate: true, balance: 70 });
    const over = await ledger.refundSettlement({ accountId: 'a', refundId: 'f2', reservationId: 'r', amount: 31 });
    expect(E.isLeft(over) && over.left).toEqual({ _tag: 'RefundExceedsSettlement', reservationId: 'r', requested: 31, refundable: 30 });
  });
});
