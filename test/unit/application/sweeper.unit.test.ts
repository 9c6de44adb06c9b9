import { describe, expect, it } from '@jest/globals';
import { makeLedger } from '../../../application/credits/ledger.js';
import { makeSweeper } from '../../../application/credits/sweeper.js';
import { silentLogger } from '../../../application/ports/clock.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeTestClock, makeTestIds } from './testClock.js';

describe('hold sweeper', () => {
  it('expires the holds a crashed process left behind, once their time has passed', async () => {
    const store = makeMemoryEventStore();
    const clock = makeTestClock();
    // "Process A" reserves and dies without settling.
    const crashed = makeLedger({ store, clock, ids: makeTestIds() });
    await crashed.grant({ accountId: 'a', grantId: 'g', amount: 100 });
    await crashed.reserve({ accountId: 'a', reservationId: 'orphan', amount: 80, ttlMs: 5_000, purpose: { service: 'llm' } });
    // "Process B" runs the sweeper.
    const ledger = makeLedger({ store, clock, ids: makeTestIds() });
    const sweeper = makeSweeper({ store, ledger, clock, logger: silentLogger, intervalMs: 1_000_000 });
    await sweeper.start();
    expect(sweeper.tracked()).toBe(1);
    expect(await sweeper.sweepDue()).toBe(0);
    expect(await ledger.balance('a')).toMatchObject({ available: 20 });
    clock.advance(5_000);
    expect(await sweeper.sweepDue()).toBe(1);
    expect(await ledger.balance('a')).toMatchObject({ available: 100, held: 0 });
    await sweeper.stop();
  });

  it('forgets holds that were settled or released', async () => {
    const store = makeMemoryEventStore();
    const clock = makeTestClock();
    const ledger = makeLedger({ store, clock, ids: makeTestIds() });
    const sweeper = makeSweeper({ store, ledger, clock, logger: silentLogger, intervalMs: 1_000_000 });
    await sweeper.start();
    await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 });
    await ledger.reserve({ accountId: 'a', reservationId: 'r1', amount: 10, ttlMs: 5_000, purpose: { service: 'llm' } });
    await ledger.reserve({ accountId: 'a', reservationId: 'r2', amount: 10, ttlMs: 5_000, purpose: { service: 'llm' } });
    await ledger.settle({ accountId: 'a', reservationId: 'r1', charge: 3, usage: {}, priceSheetVersion: 'v' });
    await ledger.release({ accountId: 'a', reservationId: 'r2', reason: 'x' });
    for (let i = 0; i < 50 && sweeper.tracked() > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sweeper.tracked()).toBe(0);
    await sweeper.stop();
  });
});
