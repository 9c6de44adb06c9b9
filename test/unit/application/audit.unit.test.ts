import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { auditLedger } from '../../../application/audit.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import type { EventStore, RecordedEvent } from '../../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeTestClock, makeTestIds } from './testClock.js';

/** A store whose global read is rewritten by `tamper`: how an attacker with database access would change history. */
const tampered = (store: EventStore, tamper: (events: RecordedEvent[]) => RecordedEvent[]): EventStore => ({
  ...store,
  readAll: async function* () {
    const all: RecordedEvent[] = [];
    for await (const e of store.readAll()) all.push(e);
    yield* tamper(all);
  },
});

const populated = async () => {
  const store = makeMemoryEventStore();
  const ledger = makeLedger({ store, clock: makeTestClock(), ids: makeTestIds() });
  for (const id of ['a', 'b']) {
    await ledger.grant({ accountId: id, grantId: 'g', amount: 500 });
    await ledger.reserve({ accountId: id, reservationId: 'r', amount: 100, ttlMs: 60_000, purpose: { service: 'llm' } });
    await ledger.settle({ accountId: id, reservationId: 'r', charge: 40, usage: {}, priceSheetVersion: 'v1' });
    await ledger.deduct({ accountId: id, deductionId: 'd', amount: 10, service: 'sora2' });
  }
  return store;
};

describe('audit', () => {
  it('passes on an honest ledger, with balances and a digest', async () => {
    const report = await auditLedger(await populated());
    expect(report.violations).toEqual([]);
    expect(report.events).toBe(10);
    expect(report.accounts).toEqual([
      { accountId: 'a', balance: 450, held: 0 },
      { accountId: 'b', balance: 450, held: 0 },
    ]);
    expect(report.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('detects changed data and names the stream and revision', async () => {
    const store = await populated();
    const report = await auditLedger(
      tampered(store, (all) => all.map((e) => (e.streamName === 'account-b' && e.revision === 4 ? { ...e, data: { ...e.data, amount: 1 } } : e))),
    );
    expect(report.violations).toContainEqual({ _tag: 'ChainBreak', streamName: 'account-b', revision: 4, reason: 'hash_mismatch' });
    expect(report.digest).not.toBe((await auditLedger(store)).digest);
  });

  it('detects a deleted event', async () => {
    const report = await auditLedger(tampered(await populated(), (all) => all.filter((e) => !(e.streamName === 'account-a' && e.revision === 2))));
    expect(report.violations).toContainEqual(expect.objectContaining({ _tag: 'ChainBreak', streamName: 'account-a', revision: 3, reason: 'revision_gap' }));
  });

  it('detects reordered revisions even when the numbers are rewritten to look gapless', async () => {
    const report = await auditLedger(
      tampered(await populated(), (all) => {
        const a = all.filter((e) => e.streamName === 'account-a');
        const swapped = [a[0], a[1], a[3], a[2], a[4]].map((e, i) => ({ ...(e as RecordedEvent), revision: i }));
        return [...swapped, ...all.filter((e) => e.streamName !== 'account-a')];
      }),
    );
    expect(report.violations.some((v) => v.streamName === 'account-a' && v._tag === 'ChainBreak')).toBe(true);
  });

  it('detects a broken money invariant even when the hashes were recomputed', async () => {
    // An attacker who knows the hash scheme can re-seal a stream; the invariants still catch an impossible history.
    const store = makeMemoryEventStore();
    const ledger = makeLedger({ store, clock: makeTestClock(), ids: makeTestIds() });
    await ledger.grant({ accountId: 'c', grantId: 'g', amount: 5 });
    const { sealEvents } = await import('../../../application/integrity.js');
    const head = [] as RecordedEvent[];
    for await (const e of store.readStream('account-c')) head.push(e);
    const last = head[head.length - 1] as RecordedEvent;
    const { sealed } = sealEvents('account-c', 2, last.metadata.hash, [{ type: 'CreditsDeducted', data: { deductionId: 'x', amount: 50, service: 's', at: 1 } }], 1);
    expect(E.isRight(await store.appendToStream('account-c', sealed, 1)())).toBe(true);
    const report = await auditLedger(store);
    expect(report.violations).toEqual([
      { _tag: 'InvariantBroken', streamName: 'account-c', revision: 2, rule: 'overspent' },
      { _tag: 'InvariantBroken', streamName: 'account-c', revision: 2, rule: 'balance-negative' },
    ]);
  });
});
