import { describe, expect, it } from '@jest/globals';
import { makeLedger } from '../../../application/credits/ledger.js';
import { makeSweeper } from '../../../application/credits/sweeper.js';
import { silentLogger } from '../../../application/ports/clock.js';
import { guardEventStore } from '../../../application/storeOutage.js';
import { makeSupervisor } from '../../../application/supervisor.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeFailingStore } from '../../support/failingStore.js';
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

describe('hold sweeper under store failures (issue 10, case 7)', () => {
  const waitFor = async (what: () => boolean | Promise<boolean>, ms = 5_000) => {
    const until = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > until) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('keeps a due grant after a failed sweep and expires it on a later tick; the process survives', async () => {
    const failing = makeFailingStore(makeMemoryEventStore());
    const store = guardEventStore(failing);
    const clock = makeTestClock();
    const ledger = makeLedger({ store, clock, ids: makeTestIds() });
    await ledger.grant({ accountId: 'a', grantId: 'promo', amount: 100, expiresAt: clock.now() + 1_000 });
    const supervisor = makeSupervisor({ clock, ids: makeTestIds(), logger: silentLogger, backoff: { initialMs: 5, maxMs: 20 } });
    const sweeper = makeSweeper({ store, ledger, clock, logger: silentLogger, intervalMs: 20, supervisor });
    await sweeper.start();
    failing.failNext('append', 3, (_s, types) => types.includes('GrantExpired'));
    clock.advance(1_000);
    await waitFor(async () => (await ledger.balance('a')).balance === 0);
    expect(failing.failures.append).toBe(3);
    const tick = supervisor.state().tasks.find((t) => t.name === 'sweeper.tick');
    expect(tick).toMatchObject({ totalFailures: 3, consecutiveFailures: 0 });
    expect(tick?.lastError).toContain('ECONNREFUSED');
    await sweeper.stop();
  });

  it('restarts its subscription after it ended with an error, from where it was', async () => {
    const failing = makeFailingStore(makeMemoryEventStore());
    const clock = makeTestClock();
    const ledger = makeLedger({ store: failing, clock, ids: makeTestIds() });
    const supervisor = makeSupervisor({ clock, ids: makeTestIds(), logger: silentLogger, backoff: { initialMs: 5, maxMs: 20 } });
    const sweeper = makeSweeper({ store: failing, ledger, clock, logger: silentLogger, intervalMs: 1_000_000, supervisor });
    await sweeper.start();
    await ledger.grant({ accountId: 'a', grantId: 'g', amount: 100 });
    await ledger.reserve({ accountId: 'a', reservationId: 'before', amount: 10, ttlMs: 5_000, purpose: { service: 'llm' } });
    await waitFor(() => sweeper.isTracked('a', 'r:before'));
    failing.breakSubscriptions();
    await ledger.reserve({ accountId: 'a', reservationId: 'after', amount: 10, ttlMs: 5_000, purpose: { service: 'llm' } });
    await waitFor(() => sweeper.isTracked('a', 'r:after'));
    expect(supervisor.state().tasks.find((t) => t.name === 'sweeper.subscription')).toMatchObject({ restarts: 1, totalFailures: 1 });
    clock.advance(5_000);
    expect(await sweeper.sweepDue()).toBe(2);
    await sweeper.stop();
  });
});
