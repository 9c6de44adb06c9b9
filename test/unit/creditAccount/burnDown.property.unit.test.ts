import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { CreditAccountCommand, CreditAccountEvent, CreditAccountState, OpenAccount } from '../../../domain/creditAccount/index.js';
import { creditAccountDecider } from '../../../domain/creditAccount/index.js';
import { applyMoneyRules, finalMoneyRules, newMoneyTally } from '../../../application/auditMoneyRules.js';
import { T0 } from './fixtures.js';

/**
 * The burn-down rule under random sequences: grants with expiry and priority,
 * deductions, holds with progress, settles, releases, both kinds of refunds
 * and sweeps, at random instants. Every check here is stated independently
 * of the implementation (its own spending order, its own sums).
 */
const id = (prefix: string, n = 4) => fc.constantFrom(...Array.from({ length: n }, (_, i) => `${prefix}${i}`));
const small = fc.integer({ min: 1, max: 30 });

type Step = { readonly delayMs: number; readonly make: (at: number) => CreditAccountCommand };

const command: fc.Arbitrary<(at: number) => CreditAccountCommand> = fc.oneof(
  fc.tuple(id('g', 6), small, fc.option(fc.integer({ min: 1, max: 8_000 }), { nil: undefined }), fc.option(fc.integer({ min: -2, max: 2 }), { nil: undefined })).map(
    ([grantId, amount, ttl, priority]) => (at: number): CreditAccountCommand => ({
      type: 'GrantCredits',
      accountId: 'a',
      grantId,
      amount,
      at,
      ...(ttl === undefined ? {} : { expiresAt: at + ttl }),
      ...(priority === undefined ? {} : { priority }),
    }),
  ),
  fc.tuple(id('d'), small).map(([deductionId, amount]) => (at: number): CreditAccountCommand => ({ type: 'DeductCredits', deductionId, amount, service: 'x', at })),
  fc.tuple(id('fd'), id('d'), small).map(([refundId, deductionId, amount]) => (at: number): CreditAccountCommand => ({ type: 'RefundDeduction', refundId, deductionId, amount, at })),
  fc.tuple(id('fs'), id('r'), small).map(([refundId, reservationId, amount]) => (at: number): CreditAccountCommand => ({ type: 'RefundSettlement', refundId, reservationId, amount, at })),
  fc.tuple(id('r'), small, fc.integer({ min: 1, max: 8_000 })).map(
    ([reservationId, amount, ttl]) => (at: number): CreditAccountCommand => ({ type: 'ReserveCredits', reservationId, amount, at, expiresAt: at + ttl, purpose: { service: 'llm' } }),
  ),
  fc.tuple(id('r'), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 8_000 })).map(
    ([reservationId, charge, ttl]) => (at: number): CreditAccountCommand => ({
      type: 'RecordHoldProgress',
      reservationId,
      charge,
      usage: {},
      priceSheetVersion: 'v',
      expiresAt: at + ttl,
      at,
    }),
  ),
  fc.tuple(id('r'), fc.integer({ min: 0, max: 30 })).map(([reservationId, charge]) => (at: number): CreditAccountCommand => ({ type: 'SettleReservation', reservationId, charge, usage: {}, priceSheetVersion: 'v', at })),
  id('r').map((reservationId) => (at: number): CreditAccountCommand => ({ type: 'ReleaseReservation', reservationId, reason: 'x', at })),
  id('r').map((reservationId) => (at: number): CreditAccountCommand => ({ type: 'ExpireReservation', reservationId, at })),
  fc.constant((at: number): CreditAccountCommand => ({ type: 'SweepExpired', at })),
);
const steps = fc.array(fc.record({ delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3_000 })), make: command }), { minLength: 1, maxLength: 60 });

type GrantInfo = { expiresAt: number | undefined; priority: number; seq: number };

/** The spending order, written again here from its definition. */
const before = (a: GrantInfo, b: GrantInfo) =>
  a.priority !== b.priority ? b.priority - a.priority : a.expiresAt !== b.expiresAt ? (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) : a.seq - b.seq;
const expiredAt = (g: GrantInfo, at: number) => g.expiresAt !== undefined && g.expiresAt <= at;

const expectedAllocation = (state: OpenAccount, infos: Map<string, GrantInfo>, amount: number, at: number) => {
  const candidates = [...state.grants.values()]
    .filter((p) => p.free > 0 && !expiredAt(infos.get(p.grantId) as GrantInfo, at))
    .sort((a, b) => before(infos.get(a.grantId) as GrantInfo, infos.get(b.grantId) as GrantInfo));
  const parts: { grantId: string; amount: number }[] = [];
  let left = amount;
  for (const p of candidates) {
    if (left === 0) break;
    const take = Math.min(p.free, left);
    parts.push({ grantId: p.grantId, amount: take });
    left -= take;
  }
  return parts;
};

/** Checks one event against the state just before it. */
const checkEvent = (e: CreditAccountEvent, prior: CreditAccountState, infos: Map<string, GrantInfo>) => {
  if (prior.status !== 'open') return;
  if (e.type === 'CreditsGranted') infos.set(e.data.grantId, { expiresAt: e.data.expiresAt, priority: e.data.priority ?? 0, seq: infos.size });
  if (e.type === 'CreditsDeducted' || e.type === 'CreditsReserved') {
    // Burn-down order kept, and expired credit never spent.
    expect(e.data.allocation).toEqual(expectedAllocation(prior, infos, e.data.amount, e.data.at));
    expect((e.data.allocation ?? []).reduce((s, p) => s + p.amount, 0)).toBe(e.data.amount);
    for (const p of e.data.allocation ?? []) expect(expiredAt(infos.get(p.grantId) as GrantInfo, e.data.at)).toBe(false);
  }
  if (e.type === 'GrantExpired') {
    // Only credit past its expiry expires, never more than the grant has free, never paid credit.
    const info = infos.get(e.data.grantId) as GrantInfo;
    expect(info.expiresAt).toBeDefined();
    expect(expiredAt(info, e.data.at)).toBe(true);
    expect(e.data.amount).toBeLessThanOrEqual(prior.grants.get(e.data.grantId)?.free ?? 0);
  }
  if (e.type === 'ReservationSettled') {
    const hold = prior.reservations.get(e.data.reservationId);
    expect(e.data.charged + e.data.released).toBe(hold?.amount);
    expect(e.data.charged).toBeGreaterThanOrEqual(hold?.progress?.charged ?? 0);
  }
  if (e.type === 'ReservationExpired') expect(e.data.charged ?? 0).toBe(prior.reservations.get(e.data.reservationId)?.progress?.charged ?? 0);
};

const checkState = (state: CreditAccountState, infos: Map<string, GrantInfo>) => {
  if (state.status !== 'open') return;
  expect(state.balance).toBeGreaterThanOrEqual(0);
  expect(state.held).toBeLessThanOrEqual(state.balance);
  const t = state.totals;
  // No credit created or destroyed: every credit granted is owned, spent or expired.
  expect(t.granted - t.deducted - t.charged + t.refunded - t.expired).toBe(state.balance);
  let owned = 0;
  for (const p of state.grants.values()) {
    expect(p.free + p.held + p.spent + p.expired).toBe(p.amount);
    for (const part of [p.free, p.held, p.spent, p.expired]) expect(part).toBeGreaterThanOrEqual(0);
    if (infos.get(p.grantId)?.expiresAt === undefined) expect(p.expired).toBe(0);
    owned += p.free + p.held;
  }
  expect(owned).toBe(state.balance);
  for (const d of state.deductions.values()) expect(d.refunded).toBeLessThanOrEqual(d.amount);
  for (const r of state.reservations.values()) expect(r.refunded).toBeLessThanOrEqual(r.charged ?? 0);
};

const run = (list: readonly Step[]) => {
  let state = creditAccountDecider.initialState;
  const infos = new Map<string, GrantInfo>();
  // The auditor replays the same history and must find nothing wrong with it.
  const audit = newMoneyTally();
  let at = T0;
  for (const s of list) {
    at += s.delayMs;
    const cmd = s.make(at);
    const decision = creditAccountDecider.decide(cmd, state);
    if (E.isLeft(decision)) continue;
    for (const e of decision.right) {
      checkEvent(e, state, infos);
      expect(applyMoneyRules(audit, e)).toEqual([]);
      state = creditAccountDecider.evolve(state, e);
    }
    checkState(state, infos);
    if (cmd.type === 'SweepExpired' && state.status === 'open') {
      // After a sweep, nothing past its expiry is left free.
      for (const p of state.grants.values()) if (expiredAt(infos.get(p.grantId) as GrantInfo, at)) expect(p.free).toBe(0);
    }
  }
  expect(finalMoneyRules(audit)).toEqual([]);
  return state;
};

describe('burn-down properties', () => {
  it('conservation, order, expiry and refund bounds hold for any sequence', () => {
    fc.assert(fc.property(steps, (list) => void run(list)), { numRuns: 500 });
  });

  it('a hold settled for c costs what a deduction of c at the hold instant costs, whatever expires in between', () => {
    const grants = fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }), fc.integer({ min: -1, max: 1 })), {
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(grants, fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 20_000 }), (gs, hold, charge, later) => {
        const granted = gs.map(([amount, ttl, priority], i): Step => ({
          delayMs: 0,
          make: (at) => ({ type: 'GrantCredits', accountId: 'a', grantId: `g${i}`, amount, at, priority, ...(ttl === undefined ? {} : { expiresAt: at + ttl }) }),
        }));
        const total = gs.reduce((s, [a]) => s + a, 0);
        const amount = Math.min(hold, total);
        const c = Math.min(charge, amount);
        const viaHold = run([
          ...granted,
          { delayMs: 0, make: (at) => ({ type: 'ReserveCredits', reservationId: 'r', amount, at, expiresAt: at + 30_000, purpose: { service: 'llm' } }) },
          { delayMs: later, make: (at) => ({ type: 'SweepExpired', at }) },
          { delayMs: 1, make: (at) => ({ type: 'SettleReservation', reservationId: 'r', charge: c, usage: {}, priceSheetVersion: 'v', at }) },
          { delayMs: 0, make: (at) => ({ type: 'SweepExpired', at }) },
        ]);
        const direct = run([
          ...granted,
          ...(c === 0 ? [] : [{ delayMs: 0, make: (at: number): CreditAccountCommand => ({ type: 'DeductCredits', deductionId: 'd', amount: c, service: 'x', at }) }]),
          { delayMs: later, make: (at) => ({ type: 'SweepExpired', at }) },
          { delayMs: 1, make: (at) => ({ type: 'SweepExpired', at }) },
        ]);
        expect(viaHold.status === 'open' && viaHold.balance).toBe(direct.status === 'open' && direct.balance);
      }),
      { numRuns: 150 },
    );
  });
});
