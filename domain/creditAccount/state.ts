import { absurd } from '../shared/decider.js';
import type { CreditAccountEvent, Purpose, Usage } from './events.js';

/**
 * Account state. `none` until opened; afterwards one `open` record. The maps
 * remember every money id ever used, which is what makes repeats idempotent
 * (TigerBeetle keeps its transfer ids for the same reason).
 *
 * Ownership: `evolve` returns a new top-level record but moves the maps of
 * the previous state into it instead of copying them, so folding a long
 * history stays linear. A state handed to `evolve` must not be used again;
 * `decide` never mutates its input.
 */
export type Reservation = {
  readonly amount: number;
  readonly expiresAt: number;
  readonly purpose: Purpose;
  readonly status: 'open' | 'settled' | 'released' | 'expired';
  /** Set when settled (or expired with progress), to compare repeated settle commands. */
  readonly charged?: number;
  /** The last progress a running hold recorded: what expiry charges if nothing settles it. */
  readonly progress?: HoldProgress;
  readonly releaseReason?: string;
};

export type HoldProgress = { readonly charged: number; readonly usage: Usage; readonly priceSheetVersion: string };

export type Grant = {
  readonly amount: number;
  readonly expiresAt: number | undefined;
  readonly at: number;
};

export type Deduction = {
  readonly amount: number;
  readonly service: string;
  readonly refunded: number;
};

export type Refund = { readonly deductionId: string; readonly amount: number };

/** Unspent credits of a grant that expires; spending uses the soonest-expiring lot first. */
export type Lot = { readonly grantId: string; readonly expiresAt: number; readonly remaining: number };

export type OpenAccount = {
  readonly status: 'open';
  readonly accountId: string;
  readonly openedAt: number;
  /** Credits owned, including those promised to open holds. */
  readonly balance: number;
  /** Sum of open holds. Available = balance - held. */
  readonly held: number;
  readonly grants: Map<string, Grant>;
  readonly deductions: Map<string, Deduction>;
  readonly refunds: Map<string, Refund>;
  readonly reservations: Map<string, Reservation>;
  /** Ids of open holds, so the sweeper does not scan every reservation ever made. */
  readonly openHolds: Set<string>;
  /** Expiring lots sorted by (expiresAt, grantId). */
  readonly lots: readonly Lot[];
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

export const available = (state: CreditAccountState): number =>
  state.status === 'open' ? state.balance - state.held : 0;

const emptyTotals: Totals = { granted: 0, deducted: 0, charged: 0, refunded: 0, expired: 0 };

const opened = (accountId: string, at: number): OpenAccount => ({
  status: 'open',
  accountId,
  openedAt: at,
  balance: 0,
  held: 0,
  grants: new Map(),
  deductions: new Map(),
  refunds: new Map(),
  reservations: new Map(),
  openHolds: new Set(),
  lots: [],
  totals: emptyTotals,
});

/** Takes `amount` from the expiring lots, soonest first; the rest comes from non-expiring credit. */
export const consumeLots = (lots: readonly Lot[], amount: number): Lot[] => {
  if (lots.length === 0) return lots as Lot[];
  let left = amount;
  const next: Lot[] = [];
  for (const lot of lots) {
    const used = Math.min(lot.remaining, left);
    left -= used;
    if (lot.remaining - used > 0) next.push(used === 0 ? lot : { ...lot, remaining: lot.remaining - used });
  }
  return next;
};

const insertLot = (lots: readonly Lot[], lot: Lot): Lot[] => {
  const next = [...lots, lot];
  next.sort((a, b) => a.expiresAt - b.expiresAt || (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0));
  return next;
};

const resolveHold = (
  s: OpenAccount,
  id: string,
  patch: Pick<Reservation, 'status'> & Partial<Reservation>,
): Reservation | undefined => {
  const reservation = s.reservations.get(id);
  if (reservation === undefined) return undefined;
  s.reservations.set(id, { ...reservation, ...patch });
  s.openHolds.delete(id);
  return reservation;
};

const evolveOpen = (s: OpenAccount, event: Exclude<CreditAccountEvent, { type: 'AccountOpened' }>): OpenAccount => {
  switch (event.type) {
    case 'CreditsGranted': {
      const d = event.data;
      s.grants.set(d.grantId, { amount: d.amount, expiresAt: d.expiresAt, at: d.at });
      const lots = d.expiresAt === undefined ? s.lots : insertLot(s.lots, { grantId: d.grantId, expiresAt: d.expiresAt, remaining: d.amount });
      return { ...s, balance: s.balance + d.amount, lots, totals: { ...s.totals, granted: s.totals.granted + d.amount } };
    }
    case 'GrantExpired': {
      const lots = s.lots
        .map((l) => (l.grantId === event.data.grantId ? { ...l, remaining: l.remaining - Math.min(l.remaining, event.data.amount) } : l))
        .filter((l) => l.remaining > 0);
      const expired = s.totals.expired + event.data.amount;
      return { ...s, balance: s.balance - event.data.amount, lots, totals: { ...s.totals, expired } };
    }
    case 'CreditsDeducted': {
      const d = event.data;
      s.deductions.set(d.deductionId, { amount: d.amount, service: d.service, refunded: 0 });
      const lots = consumeLots(s.lots, d.amount);
      return { ...s, balance: s.balance - d.amount, lots, totals: { ...s.totals, deducted: s.totals.deducted + d.amount } };
    }
    case 'DeductionRefunded': {
      const d = event.data;
      const deduction = s.deductions.get(d.deductionId);
      if (deduction !== undefined) s.deductions.set(d.deductionId, { ...deduction, refunded: deduction.refunded + d.amount });
      s.refunds.set(d.refundId, { deductionId: d.deductionId, amount: d.amount });
      return { ...s, balance: s.balance + d.amount, totals: { ...s.totals, refunded: s.totals.refunded + d.amount } };
    }
    case 'CreditsReserved': {
      const d = event.data;
      s.reservations.set(d.reservationId, { amount: d.amount, expiresAt: d.expiresAt, purpose: d.purpose, status: 'open' });
      s.openHolds.add(d.reservationId);
      return { ...s, held: s.held + d.amount };
    }
    case 'ReservationSettled': {
      const d = event.data;
      const hold = resolveHold(s, d.reservationId, { status: 'settled', charged: d.charged });
      const amount = hold?.amount ?? d.charged + d.released;
      const lots = consumeLots(s.lots, d.charged);
      return {
        ...s,
        balance: s.balance - d.charged,
        held: s.held - amount,
        lots,
        totals: { ...s.totals, charged: s.totals.charged + d.charged },
      };
    }
    case 'ReservationReleased': {
      resolveHold(s, event.data.reservationId, { status: 'released', releaseReason: event.data.reason });
      return { ...s, held: s.held - event.data.amount };
    }
    case 'ReservationExpired': {
      const charged = event.data.charged ?? 0;
      resolveHold(s, event.data.reservationId, { status: 'expired', charged });
      const lots = charged === 0 ? s.lots : consumeLots(s.lots, charged);
      const totals = charged === 0 ? s.totals : { ...s.totals, charged: s.totals.charged + charged };
      return { ...s, balance: s.balance - charged, held: s.held - event.data.amount, lots, totals };
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
