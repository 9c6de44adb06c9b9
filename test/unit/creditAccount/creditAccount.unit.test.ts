import { describe, expect, it } from '@jest/globals';
import { creditAccountDecider } from '../../../domain/creditAccount/index.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';
import { deducted, granted, opened, released, reserved, settled, T0, usage } from './fixtures.js';

const spec = DeciderSpecification.for(creditAccountDecider);
const grant = (grantId: string, amount: number, extra: { expiresAt?: number } = {}) =>
  ({ type: 'GrantCredits', accountId: 'alice', grantId, amount, at: T0, ...extra }) as const;
const deduct = (deductionId: string, amount: number, service = 'sora2') => ({ type: 'DeductCredits', deductionId, amount, service, at: T0 }) as const;
const reserve = (reservationId: string, amount: number, expiresAt = T0 + 60_000) =>
  ({ type: 'ReserveCredits', reservationId, amount, at: T0, expiresAt, purpose: { service: 'llm' } }) as const;
const settle = (reservationId: string, charge: number, at = T0) =>
  ({ type: 'SettleReservation', reservationId, charge, usage, priceSheetVersion: 'v1', at }) as const;

describe('CreditAccount: opening and granting', () => {
  it('opens an account once', () => {
    spec.when({ type: 'OpenAccount', accountId: 'alice', at: T0 }).then([opened()]);
    spec.given([opened()]).when({ type: 'OpenAccount', accountId: 'alice', at: T0 + 5 }).thenNothing();
  });

  it('a first grant opens the account', () => {
    spec.when(grant('g1', 100)).then([opened(), granted('g1', 100)]);
  });

  it('a repeated grant with the same inputs records nothing; different inputs conflict', () => {
    const history = [opened(), granted('g1', 100)];
    spec.given(history).when(grant('g1', 100)).thenNothing();
    const error = spec.given(history).when(grant('g1', 101)).thenFails('IdConflict');
    expect(error).toEqual({ _tag: 'IdConflict', kind: 'grant', id: 'g1', field: 'amount' });
    spec.given(history).when(grant('g1', 100, { expiresAt: T0 + 1 })).thenFails('IdConflict');
  });

  it.each([0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '10' as unknown as number])('refuses the amount %p', (amount) => {
    spec.given([opened()]).when(grant('g', amount)).thenFails('InvalidAmount');
    spec.given([opened(), granted('g0', 10_000)]).when(deduct('d', amount)).thenFails('InvalidAmount');
    spec.given([opened(), granted('g0', 10_000)]).when(reserve('r', amount)).thenFails('InvalidAmount');
  });

  it('refuses a grant that would leave the safe integer range', () => {
    spec.given([opened(), granted('g0', Number.MAX_SAFE_INTEGER - 1)]).when(grant('g1', 5)).thenFails('InvalidAmount');
  });

  it('refuses an expiry that is not in the future, and empty or huge ids', () => {
    spec.given([opened()]).when(grant('g', 5, { expiresAt: T0 })).thenFails('InvalidExpiry');
    spec.given([opened()]).when(grant('', 5)).thenFails('InvalidId');
    spec.given([opened()]).when(grant('x'.repeat(201), 5)).thenFails('InvalidId');
  });
});

describe('CreditAccount: direct deductions and refunds', () => {
  const funded = [opened(), granted('g1', 100)];

  it('deducts what is available', () => {
    const event = deducted('d1', 60);
    spec.given(funded).when(deduct('d1', 60)).then([{ ...event, data: { ...event.data, allocation: [{ grantId: 'g1', amount: 60 }] } } as typeof event]);
  });

  it('refuses more than is available, naming both numbers', () => {
    const error = spec.given(funded).when(deduct('d1', 101)).thenFails('InsufficientCredits');
    expect(error).toEqual({ _tag: 'InsufficientCredits', requested: 101, available: 100 });
  });

  it('counts open holds as spent', () => {
    const error = spec.given([...funded, reserved('r1', 70)]).when(deduct('d1', 31)).thenFails('InsufficientCredits');
    expect(error).toMatchObject({ available: 30 });
  });

  it('an account that was never opened has nothing to spend', () => {
    expect(spec.when(deduct('d1', 1)).thenFails('InsufficientCredits')).toMatchObject({ available: 0 });
  });

  it('a repeated deduction is a no-op even when the balance no longer covers it; a changed one conflicts', () => {
    const history = [...funded, deducted('d1', 60)];
    spec.given(history).when(deduct('d1', 60)).thenNothing();
    spec.given(history).when(deduct('d1', 61)).thenFails('IdConflict');
    expect(spec.given(history).when(deduct('d1', 60, 'llm')).thenFails('IdConflict')).toMatchObject({ field: 'service' });
  });

  it('refunds part of a deduction, never more than was deducted', () => {
    const history = [...funded, deducted('d1', 60)];
    const refund = (refundId: string, amount: number) => ({ type: 'RefundDeduction', refundId, deductionId: 'd1', amount, at: T0 }) as const;
    const state = spec.given(history).when(refund('f1', 40)).then([{ type: 'DeductionRefunded', data: { refundId: 'f1', deductionId: 'd1', amount: 40, at: T0 } }]);
    expect(state).toMatchObject({ balance: 80 });
    const more = [...history, { type: 'DeductionRefunded', data: { refundId: 'f1', deductionId: 'd1', amount: 40, at: T0 } } as const];
    expect(spec.given(more).when(refund('f2', 21)).thenFails('RefundExceedsDeduction')).toMatchObject({ refundable: 20 });
    spec.given(more).when(refund('f1', 40)).thenNothing();
    spec.given(more).when(refund('f1', 41)).thenFails('IdConflict');
    spec.given(funded).when({ type: 'RefundDeduction', refundId: 'f9', deductionId: 'nope', amount: 1, at: T0 }).thenFails('DeductionNotFound');
  });
});

describe('CreditAccount: reservations (two-phase)', () => {
  const funded = [opened(), granted('g1', 100)];

  it('holds credit without spending it', () => {
    const event = reserved('r1', 70);
    const state = spec.given(funded).when(reserve('r1', 70)).then([{ ...event, data: { ...event.data, allocation: [{ grantId: 'g1', amount: 70 }] } } as typeof event]);
    expect(state).toMatchObject({ balance: 100, held: 70 });
  });

  it('refuses a hold larger than what is available', () => {
    expect(spec.given([...funded, reserved('r1', 70)]).when(reserve('r2', 31)).thenFails('InsufficientCredits')).toMatchObject({ requested: 31, available: 30 });
  });

  it('a repeated reserve is a no-op; a changed one conflicts; the expiry must be in the future', () => {
    const history = [...funded, reserved('r1', 70)];
    spec.given(history).when(reserve('r1', 70)).thenNothing();
    spec.given(history).when(reserve('r1', 71)).thenFails('IdConflict');
    spec.given(history).when(reserve('r1', 70, T0 + 1)).thenFails('IdConflict');
    spec.given(funded).when(reserve('r2', 10, T0)).thenFails('InvalidExpiry');
  });

  it('settles for the actual charge and releases the remainder in the same event', () => {
    const state = spec.given([...funded, reserved('r1', 70)]).when(settle('r1', 25)).then([settled('r1', 25, 45)]);
    expect(state).toMatchObject({ balance: 75, held: 0 });
  });

  it('records how the stream ended when the settle says so, and a repeat with it is still a duplicate', () => {
    const stopped = { ...settle('r1', 25), ended: 'stopped' } as const;
    const event = settled('r1', 25, 45);
    const withEnd = { ...event, data: { ...event.data, ended: 'stopped' } } as typeof event;
    spec.given([...funded, reserved('r1', 70)]).when(stopped).then([withEnd]);
    spec.given([...funded, reserved('r1', 70), withEnd]).when(stopped).thenNothing();
  });

  it('settles for zero when nothing was produced', () => {
    spec.given([...funded, reserved('r1', 70)]).when(settle('r1', 0)).then([settled('r1', 0, 70)]);
  });

  it('never charges more than the hold', () => {
    expect(spec.given([...funded, reserved('r1', 70)]).when(settle('r1', 71)).thenFails('ChargeExceedsHold')).toMatchObject({ charge: 71, hold: 70 });
    spec.given([...funded, reserved('r1', 70)]).when(settle('r1', -1)).thenFails('InvalidAmount');
  });

  it('resolves exactly once: repeats are no-ops, other resolutions are refused', () => {
    const settledHistory = [...funded, reserved('r1', 70), settled('r1', 25, 45)];
    spec.given(settledHistory).when(settle('r1', 25)).thenNothing();
    spec.given(settledHistory).when(settle('r1', 26)).thenFails('IdConflict');
    spec.given(settledHistory).when({ type: 'ReleaseReservation', reservationId: 'r1', reason: 'x', at: T0 }).thenFails('ReservationAlreadyResolved');
    const releasedHistory = [...funded, reserved('r1', 70), released('r1', 70)];
    spec.given(releasedHistory).when({ type: 'ReleaseReservation', reservationId: 'r1', reason: 'again', at: T0 }).thenNothing();
    expect(spec.given(releasedHistory).when(settle('r1', 5)).thenFails('ReservationAlreadyResolved')).toMatchObject({ status: 'released' });
    spec.given(funded).when(settle('nope', 1)).thenFails('ReservationNotFound');
  });

  it('releases a hold in full', () => {
    const state = spec.given([...funded, reserved('r1', 70)]).when({ type: 'ReleaseReservation', reservationId: 'r1', reason: 'cancelled', at: T0 }).then([released('r1', 70)]);
    expect(state).toMatchObject({ balance: 100, held: 0 });
  });

  it('expires a hold only once its instant has passed', () => {
    const history = [...funded, reserved('r1', 70, T0 + 1000)];
    spec.given(history).when({ type: 'ExpireReservation', reservationId: 'r1', at: T0 + 999 }).thenFails('ReservationNotExpired');
    spec.given(history)
      .when({ type: 'ExpireReservation', reservationId: 'r1', at: T0 + 1000 })
      .then([{ type: 'ReservationExpired', data: { reservationId: 'r1', amount: 70, at: T0 + 1000 } }]);
    const expired = [...history, { type: 'ReservationExpired', data: { reservationId: 'r1', amount: 70, at: T0 + 1000 } } as const];
    spec.given(expired).when({ type: 'ExpireReservation', reservationId: 'r1', at: T0 + 2000 }).thenNothing();
    spec.given(expired).when(settle('r1', 1, T0 + 2000)).thenFails('ReservationAlreadyResolved');
  });
});

describe('CreditAccount: the sweeper and expiring grants', () => {
  it('expires every due hold and leaves the others', () => {
    const history = [opened(), granted('g1', 100), reserved('r1', 10, T0 + 10), reserved('r2', 20, T0 + 100)];
    spec.given(history).when({ type: 'SweepExpired', at: T0 + 50 }).then([{ type: 'ReservationExpired', data: { reservationId: 'r1', amount: 10, at: T0 + 50 } }]);
  });

  it('expires the unspent part of a due grant', () => {
    const history = [opened(), granted('promo', 50, { expiresAt: T0 + 10 }), granted('paid', 100), deducted('d1', 30)];
    // The deduction used the expiring promo credit first: 20 of it is left to expire.
    const state = spec.given(history).when({ type: 'SweepExpired', at: T0 + 10 }).then([{ type: 'GrantExpired', data: { grantId: 'promo', amount: 20, at: T0 + 10 } }]);
    expect(state).toMatchObject({ balance: 100, held: 0 });
  });

  it('does not expire credit still promised to an open hold', () => {
    const history = [opened(), granted('promo', 50, { expiresAt: T0 + 10 }), reserved('r1', 40, T0 + 1000)];
    spec.given(history).when({ type: 'SweepExpired', at: T0 + 20 }).then([{ type: 'GrantExpired', data: { grantId: 'promo', amount: 10, at: T0 + 20 } }]);
    // Once the hold is released, a later sweep expires the rest.
    const later = [...history, { type: 'GrantExpired', data: { grantId: 'promo', amount: 10, at: T0 + 20 } } as const, released('r1', 40)];
    spec.given(later).when({ type: 'SweepExpired', at: T0 + 30 }).then([{ type: 'GrantExpired', data: { grantId: 'promo', amount: 40, at: T0 + 30 } }]);
  });

  it('expires due holds before due grants in one sweep', () => {
    const history = [opened(), granted('promo', 50, { expiresAt: T0 + 10 }), reserved('r1', 40, T0 + 5)];
    spec.given(history)
      .when({ type: 'SweepExpired', at: T0 + 10 })
      .then([
        { type: 'ReservationExpired', data: { reservationId: 'r1', amount: 40, at: T0 + 10 } },
        { type: 'GrantExpired', data: { grantId: 'promo', amount: 50, at: T0 + 10 } },
      ]);
  });

  it('a sweep of an account with nothing due records nothing', () => {
    spec.given([opened(), granted('g', 5)]).when({ type: 'SweepExpired', at: T0 + 10 }).thenNothing();
    spec.when({ type: 'SweepExpired', at: T0 }).thenNothing();
  });
});
