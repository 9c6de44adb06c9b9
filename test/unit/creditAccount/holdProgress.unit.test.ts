import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { CreditAccountEvent, creditAccountDecider } from '../../../domain/creditAccount/index.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';
import { granted, opened, progressed, released, reserved, settled, T0 } from './fixtures.js';

const spec = DeciderSpecification.for(creditAccountDecider);
const progress = (reservationId: string, charge: number, expiresAt: number, at = T0) =>
  ({ type: 'RecordHoldProgress', reservationId, charge, usage: { outputTokens: charge }, priceSheetVersion: 'v1', expiresAt, at }) as const;
const settle = (reservationId: string, charge: number, at = T0) =>
  ({ type: 'SettleReservation', reservationId, charge, usage: { outputTokens: charge }, priceSheetVersion: 'v1', at }) as const;
const funded = [opened(), granted('g1', 100), reserved('r1', 70, T0 + 1000)];

describe('CreditAccount: progress of a running hold', () => {
  it('records the charge so far and moves the expiry on, without touching the balance', () => {
    const state = spec.given(funded).when(progress('r1', 10, T0 + 6000, T0 + 500)).then([progressed('r1', 10, T0 + 6000, T0 + 500)]);
    expect(state).toMatchObject({ balance: 100, held: 70 });
    if (state.status === 'open') expect(state.reservations.get('r1')).toMatchObject({ expiresAt: T0 + 6000, progress: { charged: 10 } });
  });

  it('an identical repeat is a no-op; a new expiry with the same charge is recorded', () => {
    const history = [...funded, progressed('r1', 10, T0 + 6000, T0 + 500)];
    spec.given(history).when(progress('r1', 10, T0 + 6000, T0 + 900)).thenNothing();
    spec.given(history).when(progress('r1', 10, T0 + 7000, T0 + 900)).then([progressed('r1', 10, T0 + 7000, T0 + 900)]);
  });

  it('never regresses, never exceeds the hold, and refuses bad amounts', () => {
    const history = [...funded, progressed('r1', 10, T0 + 6000, T0 + 500)];
    expect(spec.given(history).when(progress('r1', 9, T0 + 7000, T0 + 900)).thenFails('ProgressRegressed')).toMatchObject({ charge: 9, recorded: 10 });
    expect(spec.given(history).when(progress('r1', 71, T0 + 7000, T0 + 900)).thenFails('ChargeExceedsHold')).toMatchObject({ hold: 70 });
    spec.given(history).when(progress('r1', 1.5, T0 + 7000, T0 + 900)).thenFails('InvalidAmount');
    spec.given(history).when(progress('r1', 20, T0 + 900, T0 + 900)).thenFails('InvalidExpiry');
  });

  it('cannot revive a hold past its expiry, even before a sweep ran', () => {
    const error = spec.given(funded).when(progress('r1', 10, T0 + 9000, T0 + 1000)).thenFails('ReservationExpiredAlready');
    expect(error).toEqual({ _tag: 'ReservationExpiredAlready', reservationId: 'r1', expiresAt: T0 + 1000 });
  });

  it('needs an open hold', () => {
    spec.given(funded).when(progress('nope', 1, T0 + 9000)).thenFails('ReservationNotFound');
    spec.given([...funded, released('r1', 70)]).when(progress('r1', 1, T0 + 9000)).thenFails('ReservationAlreadyResolved');
  });

  it('a settle cannot charge less than the recorded progress, nor more than the hold', () => {
    const history = [...funded, progressed('r1', 30, T0 + 6000, T0 + 500)];
    expect(spec.given(history).when(settle('r1', 29, T0 + 600)).thenFails('ProgressRegressed')).toMatchObject({ recorded: 30 });
    spec.given(history).when(settle('r1', 71, T0 + 600)).thenFails('ChargeExceedsHold');
    const state = spec.given(history).when(settle('r1', 30, T0 + 600)).then([
      {
        type: 'ReservationSettled',
        data: { reservationId: 'r1', charged: 30, released: 40, usage: { outputTokens: 30 }, priceSheetVersion: 'v1', at: T0 + 600 },
      },
    ]);
    expect(state).toMatchObject({ balance: 70, held: 0 });
    spec.given([...history, settled('r1', 30, 40)]).when(progress('r1', 40, T0 + 9000, T0 + 700)).thenFails('ReservationAlreadyResolved');
  });

  it('an expiry charges the last recorded progress and frees the rest', () => {
    const history = [...funded, progressed('r1', 30, T0 + 6000, T0 + 500)];
    spec.given(history).when({ type: 'ExpireReservation', reservationId: 'r1', at: T0 + 5999 }).thenFails('ReservationNotExpired');
    const expired = {
      type: 'ReservationExpired',
      data: { reservationId: 'r1', amount: 70, at: T0 + 6000, charged: 30, usage: { outputTokens: 30 }, priceSheetVersion: 'v1' },
    } as const;
    const state = spec.given(history).when({ type: 'ExpireReservation', reservationId: 'r1', at: T0 + 6000 }).then([expired]);
    expect(state).toMatchObject({ balance: 70, held: 0, totals: { charged: 30 } });
    const swept = spec.given(history).when({ type: 'SweepExpired', at: T0 + 6000 }).then([expired]);
    expect(swept).toMatchObject({ balance: 70, held: 0 });
  });

  it('an expiry charge comes out of expiring credit first, so the sweep expires only what is left', () => {
    const history = [opened(), granted('promo', 50, { expiresAt: T0 + 6000 }), granted('paid', 100), reserved('r1', 70, T0 + 1000), progressed('r1', 30, T0 + 6000, T0 + 500)];
    const state = spec.given(history).when({ type: 'SweepExpired', at: T0 + 6000 }).then([
      {
        type: 'ReservationExpired',
        data: { reservationId: 'r1', amount: 70, at: T0 + 6000, charged: 30, usage: { outputTokens: 30 }, priceSheetVersion: 'v1' },
      },
      { type: 'GrantExpired', data: { grantId: 'promo', amount: 20, at: T0 + 6000 } },
    ]);
    expect(state).toMatchObject({ balance: 100, held: 0 });
  });

  it('an old expiry without a charge still decodes and charges nothing', () => {
    const old = CreditAccountEvent.decode({ type: 'ReservationExpired', data: { reservationId: 'r1', amount: 70, at: T0 } });
    expect(E.isRight(old)).toBe(true);
    expect(E.isRight(CreditAccountEvent.decode({ type: 'ReservationExpired', data: { reservationId: 'r1', amount: 70, at: T0, charged: -1 } }))).toBe(false);
    const state = spec.given([...funded, { type: 'ReservationExpired', data: { reservationId: 'r1', amount: 70, at: T0 + 1000 } }]).when(progress('r1', 1, T0 + 9000, T0 + 1000));
    expect(state.thenFails('ReservationAlreadyResolved')).toMatchObject({ status: 'expired' });
  });
});
