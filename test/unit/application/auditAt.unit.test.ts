import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { auditLedger } from '../../../application/audit.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { balanceAt } from '../../../application/credits/queries.js';
import { eventLeafHash } from '../../../application/merkle/eventLeaf.js';
import { toHex } from '../../../application/merkle/hashing.js';
import { makeMerkleTree } from '../../../application/merkle/tree.js';
import type { RecordedEvent } from '../../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeTestClock, makeTestIds } from './testClock.js';

/**
 * Issue 10 case 8: "balance at T" and `audit --at T` are the prefix of the
 * global order the store committed at or before T, by the store's clock.
 * Two writers whose own clocks are 3 s behind and 3 s ahead interleave on one
 * store; on the old code (cut by each event's decision time) the audit at an
 * instant between their writes saw a hold without its grant and failed.
 */
const BASE = 1_700_000_000_000;

const skewedLedgers = () => {
  const storeClock = makeTestClock(BASE);
  const store = makeMemoryEventStore({ now: storeClock.now });
  const behind = { ...storeClock, now: () => storeClock.now() - 3_000 };
  const ahead = { ...storeClock, now: () => storeClock.now() + 3_000 };
  const ids = makeTestIds();
  // A fresh ledger per command: each writer reads what the other wrote (as separate processes would).
  const writer = (clock: typeof behind) => new Proxy({} as ReturnType<typeof makeLedger>, { get: (_, key) => makeLedger({ store, clock, ids })[key as keyof ReturnType<typeof makeLedger>] });
  return { store, storeClock, a: writer(behind), b: writer(ahead) };
};

const all = async (store: ReturnType<typeof makeMemoryEventStore>) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};

describe('time has one definition: the store commit time', () => {
  it('audit --at and balance --at agree at every instant, and an honest ledger passes whatever the writers clocks say', async () => {
    const { store, storeClock, a, b } = skewedLedgers();
    storeClock.set(BASE + 1_000);
    expect(E.isRight(await b.grant({ accountId: 'u', grantId: 'g1', amount: 100 }))).toBe(true);
    storeClock.set(BASE + 2_000);
    expect(E.isRight(await a.reserve({ accountId: 'u', reservationId: 'r1', amount: 100, ttlMs: 60_000, purpose: { service: 'llm' } }))).toBe(true);
    storeClock.set(BASE + 3_000);
    expect(E.isRight(await b.settle({ accountId: 'u', reservationId: 'r1', charge: 60, usage: {}, priceSheetVersion: 'v1' }))).toBe(true);
    storeClock.set(BASE + 4_000);
    expect(E.isRight(await a.deduct({ accountId: 'u', deductionId: 'd1', amount: 40, service: 'sora2' }))).toBe(true);

    const events = await all(store);
    const tree = makeMerkleTree();
    const expected = [
      { at: BASE + 500, size: 0, balance: 0, held: 0 },
      { at: BASE + 1_000, size: 2, balance: 100, held: 0 },
      { at: BASE + 2_500, size: 3, balance: 100, held: 100 },
      { at: BASE + 3_000, size: 4, balance: 40, held: 0 },
      { at: BASE + 10_000, size: 5, balance: 0, held: 0 },
    ];
    for (const e of events) tree.append(eventLeafHash(e));
    for (const point of expected) {
      const report = await auditLedger(store, { at: point.at });
      expect(report.violations).toEqual([]);
      expect(report.size).toBe(point.size);
      expect(report.digest).toBe(toHex(tree.root(point.size)));
      const balance = await balanceAt(store, 'u', point.at);
      expect({ balance: balance.balance, held: balance.held }).toEqual({ balance: point.balance, held: point.held });
      const audited = report.accounts.find((x) => x.accountId === 'u') ?? { balance: 0, held: 0 };
      expect({ balance: audited.balance, held: audited.held }).toEqual({ balance: point.balance, held: point.held });
    }
  });

  it('a digest printed with --at stays valid after later appends', async () => {
    const { store, storeClock, a, b } = skewedLedgers();
    storeClock.set(BASE + 1_000);
    await a.grant({ accountId: 'v', grantId: 'g', amount: 10 });
    const before = await auditLedger(store, { at: BASE + 1_500 });
    storeClock.set(BASE + 2_000);
    await b.deduct({ accountId: 'v', deductionId: 'd', amount: 3, service: 's' });
    const after = await auditLedger(store, { at: BASE + 1_500 });
    expect(after.digest).toBe(before.digest);
    expect((await auditLedger(store)).digest).not.toBe(before.digest);
  });

  it('commit times never go backwards along the global order, even when the store clock does', async () => {
    const storeClock = makeTestClock(BASE + 10_000);
    const store = makeMemoryEventStore({ now: storeClock.now });
    const ledger = makeLedger({ store, clock: makeTestClock(), ids: makeTestIds() });
    await ledger.grant({ accountId: 'w', grantId: 'g', amount: 10 });
    storeClock.set(BASE);
    await ledger.deduct({ accountId: 'w', deductionId: 'd', amount: 1, service: 's' });
    const times = (await all(store)).map((e) => e.committedAt);
    expect(times).toEqual([BASE + 10_000, BASE + 10_000, BASE + 10_000]);
  });
});
