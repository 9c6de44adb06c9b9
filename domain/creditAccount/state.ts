import { absurd } from '../shared/decider.js';
import type { Allocation, AllocationPart, GrantPot } from './burnDown.js';
import { allocate, refundParts, spendableAt, spendOrderCompare, splitCharge } from './burnDown.js';
import type { CreditAccountEvent, Purpose, Usage } from './events.js';

export type { GrantPot } from './burnDown.js';

/**
 * Account state. `none` until opened; afterwards one `open` record. The maps
 * remember every money id ever used, which is what makes repeats idempotent
 * (TigerBeetle keeps its transfer ids for the same reason).
 *
 * Credit is kept per grant (a `GrantPot`: free, held, spent, expired), so every
 * spend, release, refund and expiry says which grant it touches (burnDown.ts).
 *
 * Ownership: `evolve` returns a new top-level record but moves the maps of
 * the previous state into it instead of copying them, so folding a long
 * history stays linear. A state handed to `evolve` must not be used again;
 * `decide` never mutates its input.
 */
export type HoldProgress = { readonly charged: number; readonly usage: Usage; readonly priceSheetVersion: string };

export type Reservation = {
  readonly amount: number;
  readonly expiresAt: number;
  readonly purpose: Purpose;
  readonly status: 'open' | 'settled' | 'released' | 'expired';
  /** Which grants the hold took its credit from, in spending order. */
  readonly allocation: Allocation;
  /** Set when settled (or expired with progress): what the hold charged. */
  readonly charged?: number;
  /** Sum of refunds of that charge. */
  readonly refunded: number;
  /** The last progress a running hold recorded: what expiry charges if nothing settles it. */
  readonly progress?: HoldProgress;
  readonly releaseReason?: string;
};

export type Deduction = {
  readonly amount: number;
  readonly service: string;
  readonly refunded: number;
  readonly allocation: Allocation;
};

export type Refund = { readonly kind: 'deduction' | 'settlement'; readonly chargeId: string; readonly amount: number };

export type OpenAccount = {
  readonly status: 'open';
  readonly accountId: string;
  readonly openedAt: number;
  /** Credits owned, including those promised to open holds: the sum of every pot's free + held. */
  readonly balance: number;
  /** Sum of open holds. */
  readonly held: number;
  readonly grants: Map<string, GrantPot>;
  /** Ids of grants with free credit, in spending order. */
  readonly spendOrder: readonly string[];
  readonly deductions: Map<string, Deduction>;
  readonly refunds: Map<string, Refund>;
  readonly reservations: Map<string, Reservation>;
  /** Ids of open holds, so the sweeper does not scan every reservation ever made. */
  readonly openHolds: Set<string>;
  readonly totals: Totals;
};

/** Running sums for the conservation check: granted - spent + refunded - expired = balance. */
export type Totals = {
  readonly granted: number;
  readonly deducted: number;
  readonly charged: number;
  readonly refunded: number;
  readonly expired: number;
};

export type CreditAccountState = { readonly status: 'none' } | OpenAccount;

export const initialState: CreditAccountState = { status: 'none' };

/**
 * What can be spent. With `at`, credit of grants past their expiry at that
 * instant is excluded (a sweep may not have removed it yet); without, it is
 * everything owned and not held.
 */
export const available = (state: CreditAccountState, at?: number): number => {
  if (state.status !== 'open') return 0;
  return at === undefined ? state.balance - state.held : spendableAt(state, at);
};

const emptyTotals: Totals = { granted: 0, deducted: 0, charged: 0, refunded: 0, expired: 0 };

const opened = (accountId: string, at: number): OpenAccount => ({
  status: 'open',
  accountId,
  openedAt: at,
  balance: 0,
  held: 0,
  grants: new Map(),
  spendOrder: [],
  deductions: new Map(),
  refunds: new Map(),
  reservations: new Map(),
  openHolds: new Set(),
  totals: emptyTotals,
});

type PotChange = { readonly free?: number; readonly held?: number; readonly spent?: number; readonly expired?: number };

/**
 * Applies changes to pots and keeps `spendOrder` (grants with free credit)
 * sorted. The order array is copied only when a grant gains or loses all of
 * its free credit, so a hot account spending one grant copies nothing.
 */
const changePots = (s: OpenAccount, changes: Iterable<readonly [string, PotChange]>): readonly string[] => {
  let order = s.spendOrder;
  for (const [id, c] of changes) {
    const pot = s.grants.get(id);
    // Histories written before allocations may name a grant this state cannot place; balances stay exact regardless.
    if (pot === undefined) continue;
    const next: GrantPot = {
      grantId: pot.grantId,
      amount: pot.amount,
      expiresAt: pot.expiresAt,
      at: pot.at,
      priority: pot.priority,
      seq: pot.seq,
      free: pot.free + (c.free ?? 0),
      held: pot.held + (c.held ?? 0),
      spent: pot.spent + (c.spent ?? 0),
      expired: pot.expired + (c.expired ?? 0),
    };
    s.grants.set(id, next);
    if (pot.free > 0 && next.free <= 0) order = order.filter((g) => g !== id);
    else if (pot.free <= 0 && next.free > 0) order = insertOrdered(s, order, next);
  }
  return order;
};

const insertOrdered = (s: OpenAccount, order: readonly string[], pot: GrantPot): string[] => {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const other = s.grants.get(order[mid] as string) as GrantPot;
    if (spendOrderCompare(other, pot) < 0) lo = mid + 1;
    else hi = mid;
  }
  return [...order.slice(0, lo), pot.grantId, ...order.slice(lo)];
};

const each = (parts: readonly AllocationPart[], change: (amount: number) => PotChange) =>
  parts.map((p) => [p.grantId, change(p.amount)] as const);

/**
 * A hold leaves the open set: its charge is spent from its allocation (front
 * first, as splitCharge in burnDown.ts), the rest goes back to free. One pot
 * change per allocation part keeps the hot path to one record per grant.
 */
const resolveHold = (s: OpenAccount, id: string, charged: number, status: Reservation['status'], releaseReason?: string): OpenAccount => {
  const hold = s.reservations.get(id);
  if (hold === undefined) return s;
  // One spread and named fields (keys in the order a spread of a patch gave them): two spreads in one literal take V8's slow path.
  s.reservations.set(id, releaseReason === undefined ? { ...hold, status, charged } : { ...hold, status, releaseReason, charged });
  s.openHolds.delete(id);
  let left = charged;
  const changes = hold.allocation.map((part) => {
    const take = Math.min(part.amount, left);
    left -= take;
    return [part.grantId, { held: -part.amount, spent: take, free: part.amount - take }] as const;
  });
  return {
    ...s,
    balance: s.balance - charged,
    held: s.held - hold.amount,
    spendOrder: changePots(s, changes),
    totals: charged === 0 ? s.totals : { ...s.totals, charged: s.totals.charged + charged },
  };
};

const refund = (s: OpenAccount, refundId: string, kind: Refund['kind'], chargeId: string, parts: readonly AllocationPart[], amount: number) => {
  s.refunds.set(refundId, { kind, chargeId, amount });
  const spendOrder = changePots(s, each(parts, (n) => ({ free: n, spent: -n })));
  return { ...s, balance: s.balance + amount, spendOrder, totals: { ...s.totals, refunded: s.totals.refunded + amount } };
};

const evolveOpen = (s: OpenAccount, event: Exclude<CreditAccountEvent, { type: 'AccountOpened' }>): OpenAccount => {
  switch (event.type) {
    case 'CreditsGranted': {
      const d = event.data;
      // A reused grant id only reaches history by forgery (decide refuses it); the audit names it, and the first grant's pot stays.
      if (s.grants.has(d.grantId)) return { ...s, balance: s.balance + d.amount, totals: { ...s.totals, granted: s.totals.granted + d.amount } };
      const pot: GrantPot = {
        grantId: d.grantId,
        amount: d.amount,
        expiresAt: d.expiresAt,
        at: d.at,
        priority: d.priority ?? 0,
        seq: s.grants.size,
        free: d.amount,
        held: 0,
        spent: 0,
        expired: 0,
      };
      s.grants.set(d.grantId, pot);
      const spendOrder = insertOrdered(s, s.spendOrder, pot);
      return { ...s, balance: s.balance + d.amount, spendOrder, totals: { ...s.totals, granted: s.totals.granted + d.amount } };
    }
    case 'GrantExpired': {
      const d = event.data;
      const spendOrder = changePots(s, [[d.grantId, { free: -d.amount, expired: d.amount }]]);
      return { ...s, balance: s.balance - d.amount, spendOrder, totals: { ...s.totals, expired: s.totals.expired + d.amount } };
    }
    case 'CreditsDeducted': {
      const d = event.data;
      const allocation = d.allocation ?? allocate(s, d.amount, undefined);
      s.deductions.set(d.deductionId, { amount: d.amount, service: d.service, refunded: 0, allocation });
      const spendOrder = changePots(s, each(allocation, (n) => ({ free: -n, spent: n })));
      return { ...s, balance: s.balance - d.amount, spendOrder, totals: { ...s.totals, deducted: s.totals.deducted + d.amount } };
    }
    case 'DeductionRefunded': {
      const d = event.data;
      const deduction = s.deductions.get(d.deductionId);
      if (deduction === undefined) return refund(s, d.refundId, 'deduction', d.deductionId, [], d.amount);
      s.deductions.set(d.deductionId, { ...deduction, refunded: deduction.refunded + d.amount });
      return refund(s, d.refundId, 'deduction', d.deductionId, refundParts(deduction.allocation, deduction.refunded, d.amount), d.amount);
    }
    case 'SettlementRefunded': {
      const d = event.data;
      const hold = s.reservations.get(d.reservationId);
      if (hold === undefined) return refund(s, d.refundId, 'settlement', d.reservationId, [], d.amount);
      s.reservations.set(d.reservationId, { ...hold, refunded: hold.refunded + d.amount });
      const spent = splitCharge(hold.allocation, hold.charged ?? 0).charged;
      return refund(s, d.refundId, 'settlement', d.reservationId, refundParts(spent, hold.refunded, d.amount), d.amount);
    }
    case 'CreditsReserved': {
      const d = event.data;
      const allocation = d.allocation ?? allocate(s, d.amount, undefined);
      s.reservations.set(d.reservationId, { amount: d.amount, expiresAt: d.expiresAt, purpose: d.purpose, status: 'open', allocation, refunded: 0 });
      s.openHolds.add(d.reservationId);
      const spendOrder = changePots(s, each(allocation, (n) => ({ free: -n, held: n })));
      return { ...s, held: s.held + d.amount, spendOrder };
    }
    case 'ReservationProgressed': {
      const d = event.data;
      const hold = s.reservations.get(d.reservationId);
      if (hold !== undefined) {
        const progress: HoldProgress = { charged: d.charged, usage: d.usage, priceSheetVersion: d.priceSheetVersion };
        s.reservations.set(d.reservationId, { ...hold, expiresAt: d.expiresAt, progress });
      }
      return s;
    }
    case 'ReservationSettled':
      return resolveHold(s, event.data.reservationId, event.data.charged, 'settled');
    case 'ReservationReleased':
      return resolveHold(s, event.data.reservationId, 0, 'released', event.data.reason);
    case 'ReservationExpired':
      return resolveHold(s, event.data.reservationId, event.data.charged ?? 0, 'expired');
    default:
      return absurd(event);
  }
};

export const evolve = (state: CreditAccountState, event: CreditAccountEvent): CreditAccountState => {
  if (event.type === 'AccountOpened') {
    return state.status === 'none' ? opened(event.data.accountId, event.data.at) : state;
  }
  // Events never reach a stream that was not opened first; ignoring one keeps evolve total.
  if (state.status === 'none') return state;
  return evolveOpen(state, event);
};
