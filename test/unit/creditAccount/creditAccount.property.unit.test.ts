import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { CreditAccountCommand, CreditAccountEvent, CreditAccountState } from '../../../domain/creditAccount/index.js';
import { creditAccountDecider } from '../../../domain/creditAccount/index.js';
import { fold } from '../../../domain/shared/decider.js';
import { T0 } from './fixtures.js';

/**
 * Ledger invariants for any sequence of commands at any instants: ids come
 * from small pools so repeats and conflicts happen often, amounts include
 * invalid values, and time moves forward by random steps (or not at all).
 */
const id = (prefix: string) => fc.constantFrom(...[0, 1, 2, 3, 4].map((n) => `${prefix}${n}`));
const amount = fc.oneof(
  // Small amounts make "exactly what is available" and "one more" common cases.
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 12 }) },
  { weight: 2, arbitrary: fc.integer({ min: 13, max: 500 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 2.5, Number.NaN) },
);

type Step = { readonly delayMs: number; readonly make: (at: number) => CreditAccountCommand };

const step: fc.Arbitrary<Step> = fc.record({
  delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })),
  make: fc.oneof(
    fc.tuple(id('g'), amount, fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined })).map(
      ([grantId, n, ttl]) => (at: number): CreditAccountCommand => ({ type: 'GrantCredits', accountId: 'a', grantId, amount: n, at, ...(ttl === undefined ? {} : { expiresAt: at + ttl }) }),
    ),
    fc.tuple(id('d'), amount).map(([deductionId, n]) => (at: number): CreditAccountCommand => ({ type: 'DeductCredits', deductionId, amount: n, service: 'x', at })),
    fc.tuple(id('f'), id('d'), amount).map(([refundId, deductionId, n]) => (at: number): CreditAccountCommand => ({ type: 'RefundDeduction', refundId, deductionId, amount: n, at })),
    fc.tuple(id('r'), amount, fc.integer({ min: 1, max: 10_000 })).map(
      ([reservationId, n, ttl]) => (at: number): CreditAccountCommand => ({ type: 'ReserveCredits', reservationId, amount: n, at, expiresAt: at + ttl, purpose: { service: 'llm' } }),
    ),
    fc.tuple(id('r'), fc.oneof(fc.integer({ min: -1, max: 14 }), fc.integer({ min: 15, max: 600 }))).map(
      ([reservationId, charge]) => (at: number): CreditAccountCommand => ({ type: 'SettleReservation', reservationId, charge, usage: {}, priceSheetVersion: 'v', at }),
    ),
    fc.tuple(id('r'), fc.integer({ min: -1, max: 40 }), fc.integer({ min: 1, max: 10_000 })).map(
      ([reservationId, charge, ttl]) => (at: number): CreditAccountCommand => ({
        type: 'RecordHoldProgress',
        reservationId,
        charge,
        usage: { outputTokens: Math.max(charge, 0) },
        priceSheetVersion: 'v',
        expiresAt: at + ttl,
        at,
      }),
    ),
    id('r').map((reservationId) => (at: number): CreditAccountCommand => ({ type: 'ReleaseReservation', reservationId, reason: 'x', at })),
    id('r').map((reservationId) => (at: number): CreditAccountCommand => ({ type: 'ExpireReservation', reservationId, at })),
    fc.constant((at: number): CreditAccountCommand => ({ type: 'SweepExpired', at })),
  ),
});

/** A plain-data view of the state, for comparing two states. */
const snapshot = (s: CreditAccountState) =>
  s.status === 'none'
    ? s
    : {
        ...s,
        grants: [...s.grants.entries()],
        deductions: [...s.deductions.entries()],
        refunds: [...s.refunds.entries()],
        reservations: [...s.reservations.entries()],
        openHolds: [...s.openHolds].sort(),
      };

const seed = (at: number): CreditAccountCommand => ({ type: 'GrantCredits', accountId: 'a', grantId: 'seed', amount: 40, at });

const run = (steps: readonly Step[]) => {
  let state = creditAccountDecider.initialState;
  for (const e of (creditAccountDecider.decide(seed(T0), state) as E.Right<readonly CreditAccountEvent[]>).right) state = creditAccountDecider.evolve(state, e);
  let at = T0;
  const history: CreditAccountEvent[] = [
    { type: 'AccountOpened', data: { accountId: 'a', at: T0 } },
    { type: 'CreditsGranted', data: { grantId: 'seed', amount: 40, at: T0 } },
  ];
  const states: CreditAccountState[] = [];
  for (const s of steps) {
    at += s.delayMs;
    const before = JSON.stringify(snapshot(state));
    const decision = creditAccountDecider.decide(s.make(at), state);
    // decide must never touch the state it judges.
    expect(JSON.stringify(snapshot(state))).toBe(before);
    if (E.isLeft(decision)) continue;
    for (const event of decision.right) {
      state = creditAccountDecider.evolve(state, event);
      history.push(event);
    }
    states.push(state);
    checkInvariants(state, history);
  }
  return { state, history };
};

const checkInvariants = (state: CreditAccountState, history: readonly CreditAccountEvent[]) => {
  if (state.status !== 'open') return;
  expect(state.balance).toBeGreaterThanOrEqual(0);
  expect(state.held).toBeGreaterThanOrEqual(0);
  expect(state.held).toBeLessThanOrEqual(state.balance);
  const t = state.totals;
  expect(t.granted - t.deducted - t.charged + t.refunded - t.expired).toBe(state.balance);
  const openSum = [...state.openHolds].reduce((sum, id) => sum + (state.reservations.get(id)?.amount ?? Number.NaN), 0);
  expect(openSum).toBe(state.held);
  const pots = [...state.grants.values()];
  expect(pots.reduce((sum, p) => sum + p.free + p.held, 0)).toBe(state.balance);
  expect(pots.reduce((sum, p) => sum + p.held, 0)).toBe(state.held);
  for (const p of pots) expect(p.free + p.held + p.spent + p.expired).toBe(p.amount);
  const resolutions = new Map<string, number>();
  const holds = new Map<string, number>();
  const recorded = new Map<string, number>();
  for (const e of history) {
    if (e.type === 'CreditsReserved') holds.set(e.data.reservationId, e.data.amount);
    if (e.type === 'ReservationProgressed') {
      // Progress only grows, stays within the hold, and only on an open hold.
      expect(resolutions.has(e.data.reservationId)).toBe(false);
      expect(e.data.charged).toBeGreaterThanOrEqual(recorded.get(e.data.reservationId) ?? 0);
      expect(e.data.charged).toBeLessThanOrEqual(holds.get(e.data.reservationId) ?? Number.NaN);
      recorded.set(e.data.reservationId, e.data.charged);
    }
    if (e.type === 'ReservationSettled') expect(e.data.charged).toBeGreaterThanOrEqual(recorded.get(e.data.reservationId) ?? 0);
    if (e.type === 'ReservationExpired') {
      // An expiry charges exactly the last recorded progress (0 without any).
      expect(e.data.charged ?? 0).toBe(recorded.get(e.data.reservationId) ?? 0);
      expect(e.data.amount).toBe(holds.get(e.data.reservationId));
    }
    if (e.type === 'ReservationSettled') {
      // A charge never exceeds its hold, and the hold is split exactly into charged + released.
      expect(e.data.released).toBeGreaterThanOrEqual(0);
      expect(e.data.charged + e.data.released).toBe(holds.get(e.data.reservationId));
    }
    if (e.type === 'ReservationSettled' || e.type === 'ReservationReleased' || e.type === 'ReservationExpired') {
      resolutions.set(e.data.reservationId, (resolutions.get(e.data.reservationId) ?? 0) + 1);
    }
  }
  for (const count of resolutions.values()) expect(count).toBe(1);
};

describe('CreditAccount properties', () => {
  it('keeps balance >= 0, holds <= balance, conservation and single resolution for any command sequence', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        run(steps);
      }),
      { numRuns: 400 },
    );
  });

  it('replaying the recorded events reproduces the same state', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        const { state, history } = run(steps);
        const replayed = fold(creditAccountDecider, history);
        expect(snapshot(replayed)).toEqual(snapshot(state));
      }),
      { numRuns: 300 },
    );
  });

  it('repeating any successful command right away records nothing new', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        let state = creditAccountDecider.initialState;
        let at = T0;
        for (const s of steps) {
          at += s.delayMs;
          const command = s.make(at);
          const first = creditAccountDecider.decide(command, state);
          if (E.isLeft(first)) continue;
          for (const event of first.right) state = creditAccountDecider.evolve(state, event);
          if (command.type === 'SweepExpired' || command.type === 'OpenAccount') continue;
          const again = creditAccountDecider.decide(command, state);
          expect(again).toEqual(E.right([]));
        }
      }),
      { numRuns: 300 },
    );
  });
});
