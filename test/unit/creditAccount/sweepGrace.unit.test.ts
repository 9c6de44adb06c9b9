import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { CreditAccountCommand, CreditAccountEvent, CreditAccountState } from '../../../domain/creditAccount/index.js';
import { creditAccountDecider } from '../../../domain/creditAccount/index.js';
import { granted, opened, progressed, reserved, T0 } from './fixtures.js';

/**
 * A due hold waits `holdGraceMs` for its owner's settle before a sweep expires
 * it (found by the many-writer simulation: a settle retried after a store
 * outage lost the race to another instance's sweeper, and delivered output
 * went unpaid). The grace applies to sweeps only; the hold still cannot be
 * extended past its expiry.
 */
const fold = (events: readonly CreditAccountEvent[]): CreditAccountState => events.reduce(creditAccountDecider.evolve, creditAccountDecider.initialState);
const decide = (events: readonly CreditAccountEvent[], command: CreditAccountCommand) => creditAccountDecider.decide(command, fold(events));
const types = (decision: ReturnType<typeof decide>) => (E.isRight(decision) ? decision.right.map((e) => e.type) : [decision.left._tag]);

const history = [opened(), granted('paid', 1000), reserved('r1', 300, T0 + 10_000), progressed('r1', 50, T0 + 20_000, T0 + 5_000)];

describe('CreditAccount: grace before a sweep expires a hold', () => {
  it('leaves a due hold open during the grace, so the owner\'s late settle charges all it delivered', () => {
    const duringGrace = decide(history, { type: 'SweepExpired', at: T0 + 30_000, holdGraceMs: 60_000 });
    expect(types(duringGrace)).toEqual([]);
    const late = decide(history, { type: 'SettleReservation', reservationId: 'r1', charge: 200, usage: { outputTokens: 200 }, priceSheetVersion: 'v1', at: T0 + 30_000 });
    expect(types(late)).toEqual(['ReservationSettled']);
    expect(fold([...history, ...(E.isRight(late) ? late.right : [])])).toMatchObject({ balance: 800, held: 0 });
  });

  it('expires the hold for its recorded progress once the grace has passed, and at once without a grace', () => {
    const after = decide(history, { type: 'SweepExpired', at: T0 + 80_000, holdGraceMs: 60_000 });
    expect(E.isRight(after) && after.right).toEqual([{ type: 'ReservationExpired', data: { reservationId: 'r1', amount: 300, at: T0 + 80_000, charged: 50, usage: { outputTokens: 50 }, priceSheetVersion: 'v1' } }]);
    expect(types(decide(history, { type: 'SweepExpired', at: T0 + 20_000 }))).toEqual(['ReservationExpired']);
  });

  it('does not let a hold be extended during the grace', () => {
    const refused = decide(history, { type: 'RecordHoldProgress', reservationId: 'r1', charge: 60, usage: { outputTokens: 60 }, priceSheetVersion: 'v1', expiresAt: T0 + 90_000, at: T0 + 25_000 });
    expect(types(refused)).toEqual(['ReservationExpiredAlready']);
  });
});
