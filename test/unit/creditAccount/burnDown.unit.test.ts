import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { CreditAccountCommand, CreditAccountEvent } from '../../../domain/creditAccount/index.js';
import { available, CreditAccountEvent as EventCodec, creditAccountDecider } from '../../../domain/creditAccount/index.js';
import { fold } from '../../../domain/shared/decider.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';
import { opened, T0, usage } from './fixtures.js';

const spec = DeciderSpecification.for(creditAccountDecider);
const S = 1000;

/** Runs commands in order through decide + evolve, failing on any refusal; returns history and state. */
const play = (commands: readonly CreditAccountCommand[]) => {
  const history: CreditAccountEvent[] = [];
  let state = creditAccountDecider.initialState;
  for (const command of commands) {
    const decision = creditAccountDecider.decide(command, state);
    if (E.isLeft(decision)) throw new Error(`${command.type} refused: ${JSON.stringify(decision.left)}`);
    for (const e of decision.right) {
      history.push(e);
      state = creditAccountDecider.evolve(state, e);
    }
  }
  return { history, state };
};
const grant = (grantId: string, amount: number, extra: { expiresAt?: number; priority?: number; at?: number } = {}): CreditAccountCommand => {
  const { at, ...rest } = extra;
  return { type: 'GrantCredits', accountId: 'alice', grantId, amount, at: at ?? T0, ...rest };
};
const deduct = (deductionId: string, amount: number, at = T0): CreditAccountCommand => ({ type: 'DeductCredits', deductionId, amount, service: 'x', at });
const reserve = (reservationId: string, amount: number, at = T0, ttl = 600 * S): CreditAccountCommand => ({
  type: 'ReserveCredits',
  reservationId,
  amount,
  at,
  expiresAt: at + ttl,
  purpose: { service: 'llm' },
});
const settle = (reservationId: string, charge: number, at: number): CreditAccountCommand => ({ type: 'SettleReservation', reservationId, charge, usage, priceSheetVersion: 'v1', at });
const sweep = (at: number): CreditAccountCommand => ({ type: 'SweepExpired', at });
const refundD = (refundId: string, deductionId: string, amount: number, at: number): CreditAccountCommand => ({ type: 'RefundDeduction', refundId, deductionId, amount, at });
const refundS = (refundId: string, reservationId: string, amount: number, at: number): CreditAccountCommand => ({ type: 'RefundSettlement', refundId, reservationId, amount, at });
const pot = (state: ReturnType<typeof play>['state'], id: string) => (state.status === 'open' ? state.grants.get(id) : undefined);

describe('burn-down: issue 10 case 1 (a promo expiring under an open hold)', () => {
  it('settling the hold after the promo expired leaves the paid credit, like a direct deduction', () => {
    const viaHold = play([grant('promo', 100, { expiresAt: T0 + 5 * S }), grant('paid', 100), reserve('r', 100), sweep(T0 + 6 * S), settle('r', 100, T0 + 7 * S)]);
    const direct = play([grant('promo', 100, { expiresAt: T0 + 5 * S }), grant('paid', 100), deduct('d', 100), sweep(T0 + 6 * S)]);
    expect(viaHold.state).toMatchObject({ balance: 100, held: 0 });
    expect(direct.state).toMatchObject({ balance: 100, held: 0 });
    expect(pot(viaHold.state, 'paid')).toMatchObject({ free: 100, spent: 0, expired: 0 });
    // The sweep found nothing free to expire: the promo's credit was all promised to the hold.
    expect(viaHold.history.filter((e) => e.type === 'GrantExpired')).toEqual([]);
  });

  it('a partial settle expires the released promo remainder in the same decision', () => {
    const { state } = play([grant('promo', 100, { expiresAt: T0 + 5 * S }), grant('paid', 100), reserve('r', 100), sweep(T0 + 6 * S)]);
    const decision = creditAccountDecider.decide(settle('r', 40, T0 + 7 * S), state);
    expect(E.isRight(decision) && decision.right.map((e) => e.type)).toEqual(['ReservationSettled', 'GrantExpired']);
    expect(E.isRight(decision) && decision.right[1]).toEqual({ type: 'GrantExpired', data: { grantId: 'promo', amount: 60, at: T0 + 7 * S } });
    const after = play([grant('promo', 100, { expiresAt: T0 + 5 * S }), grant('paid', 100), reserve('r', 100), sweep(T0 + 6 * S), settle('r', 40, T0 + 7 * S)]);
    expect(after.state).toMatchObject({ balance: 100 });
    expect(available(after.state, T0 + 7 * S)).toBe(100);
  });

  it('a release or an expiry of the hold after the promo expired also expires the promo credit at once', () => {
    const base = [grant('promo', 100, { expiresAt: T0 + 5 * S }), grant('paid', 100), reserve('r', 100, T0, 10 * S)];
    const released = play([...base, { type: 'ReleaseReservation', reservationId: 'r', reason: 'x', at: T0 + 6 * S }]);
    expect(released.history.slice(-2).map((e) => e.type)).toEqual(['ReservationReleased', 'GrantExpired']);
    expect(released.state).toMatchObject({ balance: 100, held: 0 });
    const expired = play([...base, sweep(T0 + 10 * S)]);
    expect(expired.history.slice(-2).map((e) => e.type)).toEqual(['ReservationExpired', 'GrantExpired']);
    expect(expired.state).toMatchObject({ balance: 100, held: 0 });
  });
});

describe('burn-down: issue 10 case 2 (expired credit is never spendable)', () => {
  it('refuses a deduction against a grant that expired seconds ago, with no sweep', () => {
    const history = [opened(), { type: 'CreditsGranted', data: { grantId: 'promo', amount: 100, at: T0, expiresAt: T0 + 5 * S } } as const];
    expect(spec.given(history).when(deduct('d', 10, T0 + 8 * S)).thenFails('InsufficientCredits')).toMatchObject({ available: 0 });
    spec.given(history).when(reserve('r', 10, T0 + 8 * S)).thenFails('InsufficientCredits');
    // One millisecond before its expiry it is still spendable.
    spec.given(history).when(deduct('d', 10, T0 + 5 * S - 1)).then([
      { type: 'CreditsDeducted', data: { deductionId: 'd', amount: 10, service: 'x', at: T0 + 5 * S - 1, allocation: [{ grantId: 'promo', amount: 10 }] } },
    ]);
  });

  it('only the unexpired part counts as available', () => {
    const { state } = play([grant('promo', 100, { expiresAt: T0 + 5 * S }), grant('paid', 30)]);
    expect(available(state, T0)).toBe(130);
    expect(available(state, T0 + 5 * S)).toBe(30);
    expect(creditAccountDecider.decide(deduct('d', 31, T0 + 5 * S), state)).toEqual(E.left({ _tag: 'InsufficientCredits', requested: 31, available: 30 }));
  });
});

describe('burn-down: the spending order', () => {
  it('spends higher priority first, then the earliest expiry, then the oldest; never-expiring credit last', () => {
    const { history } = play([
      grant('paid-old', 10),
      grant('paid-new', 10),
      grant('late', 10, { expiresAt: T0 + 50 * S }),
      grant('soon', 10, { expiresAt: T0 + 20 * S }),
      grant('vip', 10, { priority: 5 }),
      grant('low', 10, { priority: -1, expiresAt: T0 + 10 * S }),
      deduct('d', 55, T0 + S),
    ]);
    const last = history[history.length - 1];
    expect(last?.type === 'CreditsDeducted' && last.data.allocation).toEqual([
      { grantId: 'vip', amount: 10 },
      { grantId: 'soon', amount: 10 },
      { grantId: 'late', amount: 10 },
      { grantId: 'paid-old', amount: 10 },
      { grantId: 'paid-new', amount: 10 },
      { grantId: 'low', amount: 5 },
    ]);
  });

  it('a repeated grant with another priority conflicts; a non-integer priority is refused', () => {
    const history = [opened(), { type: 'CreditsGranted', data: { grantId: 'g', amount: 10, at: T0, priority: 2 } } as const];
    spec.given(history).when(grant('g', 10, { priority: 2 })).thenNothing();
    expect(spec.given(history).when(grant('g', 10)).thenFails('IdConflict')).toMatchObject({ field: 'priority' });
    spec.given([opened()]).when(grant('h', 10, { priority: 1.5 })).thenFails('InvalidPriority');
  });
});

describe('burn-down: refunds go back where the charge came from', () => {
  it('a deduction refund returns the credit spent last first, and expires at once what returns to an expired grant', () => {
    const base = [grant('promo', 50, { expiresAt: T0 + 5 * S }), grant('paid', 100), deduct('d', 80)];
    const partial = play([...base, refundD('f1', 'd', 30, T0 + S)]);
    expect(pot(partial.state, 'paid')).toMatchObject({ free: 100, spent: 0 });
    const late = play([...base, refundD('f1', 'd', 30, T0 + S), refundD('f2', 'd', 50, T0 + 6 * S)]);
    expect(late.history.slice(-2)).toEqual([
      { type: 'DeductionRefunded', data: { refundId: 'f2', deductionId: 'd', amount: 50, at: T0 + 6 * S } },
      { type: 'GrantExpired', data: { grantId: 'promo', amount: 50, at: T0 + 6 * S } },
    ]);
    expect(late.state).toMatchObject({ balance: 100 });
  });

  it('refunds a settled hold partly, then fully, idempotently, never beyond its charge', () => {
    const base = [grant('paid', 100), reserve('r', 60), settle('r', 40, T0 + S)];
    const history = play(base).history;
    const once = spec.given(history).when(refundS('f1', 'r', 15, T0 + 2 * S)).then([{ type: 'SettlementRefunded', data: { refundId: 'f1', reservationId: 'r', amount: 15, at: T0 + 2 * S } }]);
    expect(once).toMatchObject({ balance: 75 });
    const more = play([...base, refundS('f1', 'r', 15, T0 + 2 * S)]).history;
    spec.given(more).when(refundS('f1', 'r', 15, T0 + 3 * S)).thenNothing();
    spec.given(more).when(refundS('f1', 'r', 16, T0 + 3 * S)).thenFails('IdConflict');
    expect(spec.given(more).when(refundS('f2', 'r', 26, T0 + 3 * S)).thenFails('RefundExceedsSettlement')).toMatchObject({ refundable: 25 });
    expect(spec.given(more).when(refundS('f2', 'r', 25, T0 + 3 * S)).then([{ type: 'SettlementRefunded', data: { refundId: 'f2', reservationId: 'r', amount: 25, at: T0 + 3 * S } }])).toMatchObject({ balance: 100 });
    // Refund ids are one namespace across deductions and settlements.
    expect(spec.given(more).when(refundD('f1', 'r', 15, T0 + 3 * S)).thenFails('IdConflict')).toMatchObject({ field: 'deductionId' });
  });

  it('refunds what an expiry charged from progress; a released or open hold has nothing to refund', () => {
    const progressed: CreditAccountCommand = { type: 'RecordHoldProgress', reservationId: 'r', charge: 20, usage, priceSheetVersion: 'v1', expiresAt: T0 + 10 * S, at: T0 + S };
    const { history } = play([grant('paid', 100), reserve('r', 60), progressed, sweep(T0 + 10 * S)]);
    expect(spec.given(history).when(refundS('f', 'r', 20, T0 + 11 * S)).then([{ type: 'SettlementRefunded', data: { refundId: 'f', reservationId: 'r', amount: 20, at: T0 + 11 * S } }])).toMatchObject({
      balance: 100,
    });
    const open = play([grant('paid', 100), reserve('r', 60)]).history;
    spec.given(open).when(refundS('f', 'r', 1, T0 + S)).thenFails('SettlementNotFound');
    const released = play([grant('paid', 100), reserve('r', 60), { type: 'ReleaseReservation', reservationId: 'r', reason: 'x', at: T0 + S }]).history;
    spec.given(released).when(refundS('f', 'r', 1, T0 + S)).thenFails('SettlementNotFound');
    spec.given(released).when(refundS('f', 'nope', 1, T0 + S)).thenFails('SettlementNotFound');
  });

  it('a hold with recorded progress cannot be released (its output was delivered); it settles', () => {
    const progressed: CreditAccountCommand = { type: 'RecordHoldProgress', reservationId: 'r', charge: 20, usage, priceSheetVersion: 'v1', expiresAt: T0 + 10 * S, at: T0 + S };
    const { history } = play([grant('paid', 100), reserve('r', 60), progressed]);
    spec.given(history).when({ type: 'ReleaseReservation', reservationId: 'r', reason: 'x', at: T0 + 2 * S }).thenFails('ProgressRegressed');
  });
});

describe('burn-down: histories written before allocations', () => {
  it('decode, and are attributed by the same rule when folded', () => {
    const old = [
      { type: 'AccountOpened', data: { accountId: 'alice', at: T0 } },
      { type: 'CreditsGranted', data: { grantId: 'paid', amount: 100, at: T0 } },
      { type: 'CreditsGranted', data: { grantId: 'promo', amount: 50, at: T0, expiresAt: T0 + 5 * S } },
      { type: 'CreditsReserved', data: { reservationId: 'r', amount: 70, expiresAt: T0 + 60 * S, at: T0, purpose: { service: 'llm' } } },
      { type: 'CreditsDeducted', data: { deductionId: 'd', amount: 10, service: 'x', at: T0 } },
    ].map((raw) => {
      const decoded = EventCodec.decode(raw);
      if (E.isLeft(decoded)) throw new Error(`does not decode: ${JSON.stringify(raw)}`);
      return decoded.right;
    });
    const state = fold(creditAccountDecider, old);
    expect(state).toMatchObject({ balance: 140, held: 70 });
    expect(pot(state, 'promo')).toMatchObject({ held: 50, free: 0 });
    expect(pot(state, 'paid')).toMatchObject({ held: 20, spent: 10, free: 70 });
  });
});
