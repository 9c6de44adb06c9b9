import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeSettlements } from '../../../application/gateway/settlements.js';
import type { SettlementsDeps } from '../../../application/gateway/settlements.js';
import { silentLogger } from '../../../application/ports/clock.js';

/**
 * A pending settle must land soon after the store is back: HOLD_EXPIRY_GRACE_MS
 * is all the time it has before a sweep (on any instance) expires its hold for
 * the last progress only. With the 30 s cap a retry came 9.6 s after a
 * PostgreSQL outage ended and lost the hold (simulation seed 1070).
 */
describe('settlement retries', () => {
  it('retry the background settle at most 5 s apart, however long the outage, and write it once the store is back', async () => {
    const sleeps: number[] = [];
    let attempts = 0;
    const ledger: SettlementsDeps['ledger'] = {
      settle: async () => {
        attempts += 1;
        if (attempts <= 40) throw new Error('event store unavailable during append: connect ECONNREFUSED');
        return E.right({ reservationId: 'r1', charged: 7, released: 3, balance: 93, available: 93, events: [], revision: 3 } as never);
      },
    };
    const settlements = makeSettlements({
      ledger,
      clock: { now: () => 0, sleep: (ms) => (sleeps.push(ms), Promise.resolve()) },
      ids: { random: () => 0.999 },
      logger: silentLogger,
    });
    const first = await settlements.settle({ accountId: 'a', reservationId: 'r1', charge: 7, usage: {}, priceSheetVersion: 'v', correlationId: 'q' });
    expect(first).toEqual({ kind: 'pending' });
    await settlements.drained();
    expect(attempts).toBe(41);
    const background = sleeps.slice(1); // the first is the foreground pause between its two tries
    expect(Math.max(...background)).toBeLessThanOrEqual(5_000);
    expect(background.filter((ms) => ms > 4_000).length).toBeGreaterThan(20);
  });
});
