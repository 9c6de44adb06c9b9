import * as E from 'fp-ts/lib/Either.js';
import { parseNonNegative, parsePositive } from '../shared/money.js';
import { allocate, isExpiredAt, spendableAt, spendOrderCompare, splitCharge } from './burnDown.js';
import type { Cmd, Decision } from './decision.js';
import { checkId, conflict, expireReturned, fail, nothing, ok } from './decision.js';
import { insufficient } from './errors.js';
import type { CreditAccountEvent, Usage } from './events.js';
import type { CreditAccountState, GrantPot, OpenAccount, Reservation } from './state.js';

/**
 * Two-phase spending: a hold (reservation) takes its credit from specific
 * grants when it is made, may record progress while its work runs, and is
 * resolved exactly once (settled, released or expired). Whatever it gives
 * back to a grant already past its expiry expires in the same decision.
 */

export const reserve = (cmd: Cmd<'ReserveCredits'>, state: CreditAccountState): Decision => {
  const badId = checkId('reservationId', cmd.reservationId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  if (cmd.expiresAt <= cmd.at) return fail({ _tag: 'InvalidExpiry', at: cmd.at, expiresAt: cmd.expiresAt });
  if (state.status !== 'open') return fail(insufficient(amount.right, 0));
  const first = state.reservations.get(cmd.reservationId);
  if (first !== undefined) {
    if (first.amount !== cmd.amount) return conflict('reservation', cmd.reservationId, 'amount');
    if (first.purpose.service !== cmd.purpose.service) return conflict('reservation', cmd.reservationId, 'purpose');
    // Progress moves a hold's expiry on; the id still names the same hold.
    if (first.expiresAt !== cmd.expiresAt && first.progress === undefined) return conflict('reservation', cmd.reservationId, 'expiresAt');
    return nothing;
  }
  const free = spendableAt(state, cmd.at);
  if (amount.right > free) return fail(insufficient(amount.right, free));
  return ok({
    type: 'CreditsReserved',
    data: {
      reservationId: cmd.reservationId,
      amount: amount.right,
      expiresAt: cmd.expiresAt,
      at: cmd.at,
      purpose: cmd.purpose,
      allocation: allocate(state, amount.right, cmd.at),
    },
  });
};

const findHold = (state: CreditAccountState, reservationId: string) =>
  state.status === 'open' ? state.reservations.get(reservationId) : undefined;

/** A resolution event followed by the expiry of what it returns to expired grants. */
const resolution = (state: CreditAccountState, hold: Reservation, charged: number, event: CreditAccountEvent, at: number): Decision =>
  state.status === 'open' ? ok(event, ...expireReturned(state, splitCharge(hold.allocation, charged).released, at)) : ok(event);

export const settle = (cmd: Cmd<'SettleReservation'>, state: CreditAccountState): Decision => {
  const charge = parseNonNegative(cmd.charge);
  if (E.isLeft(charge)) return charge;
  const hold = findHold(state, cmd.reservationId);
  if (hold === undefined) return fail({ _tag: 'ReservationNotFound', reservationId: cmd.reservationId });
  if (hold.status === 'settled') {
    return hold.charged === cmd.charge ? nothing : conflict('settlement', cmd.reservationId, 'charge');
  }
  if (hold.status !== 'open') return fail({ _tag: 'ReservationAlreadyResolved', reservationId: cmd.reservationId, status: hold.status });
  if (charge.right > hold.amount) {
    return fail({ _tag: 'ChargeExceedsHold', reservationId: cmd.reservationId, charge: charge.right, hold: hold.amount });
  }
  // What progress recorded was delivered: a settle can add to it, never take it back.
  const recorded = hold.progress?.charged ?? 0;
  if (charge.right < recorded) return fail({ _tag: 'ProgressRegressed', reservationId: cmd.reservationId, charge: charge.right, recorded });
  const event: CreditAccountEvent = {
    type: 'ReservationSettled',
    data: {
      reservationId: cmd.reservationId,
      charged: charge.right,
      released: hold.amount - charge.right,
      usage: cmd.usage,
      priceSheetVersion: cmd.priceSheetVersion,
      at: cmd.at,
      ...(cmd.ended === undefined ? {} : { ended: cmd.ended }),
    },
  };
  return resolution(state, hold, charge.right, event, cmd.at);
};

const usageKeys = ['provider', 'model', 'inputTokens', 'outputTokens', 'videoSeconds', 'resolution'] as const;
const sameUsage = (a: Usage, b: Usage) => usageKeys.every((k) => a[k] === b[k]);

/**
 * Progress of a running hold: the charge so far and a new expiry. The charge
 * only grows and stays within the hold; a hold whose expiry instant has passed
 * is not revived (the sweeper may be expiring it at this very moment), which
 * is what stops a stream that outlived its hold.
 */
export const progress = (cmd: Cmd<'RecordHoldProgress'>, state: CreditAccountState): Decision => {
  const charge = parseNonNegative(cmd.charge);
  if (E.isLeft(charge)) return charge;
  const hold = findHold(state, cmd.reservationId);
  if (hold === undefined) return fail({ _tag: 'ReservationNotFound', reservationId: cmd.reservationId });
  if (hold.status !== 'open') return fail({ _tag: 'ReservationAlreadyResolved', reservationId: cmd.reservationId, status: hold.status });
  const last = hold.progress;
  if (
    last !== undefined &&
    last.charged === charge.right &&
    hold.expiresAt === cmd.expiresAt &&
    last.priceSheetVersion === cmd.priceSheetVersion &&
    sameUsage(last.usage, cmd.usage)
  ) {
    return nothing;
  }
  if (charge.right > hold.amount) {
    return fail({ _tag: 'ChargeExceedsHold', reservationId: cmd.reservationId, charge: charge.right, hold: hold.amount });
  }
  const recorded = last?.charged ?? 0;
  if (charge.right < recorded) return fail({ _tag: 'ProgressRegressed', reservationId: cmd.reservationId, charge: charge.right, recorded });
  if (cmd.at >= hold.expiresAt) return fail({ _tag: 'ReservationExpiredAlready', reservationId: cmd.reservationId, expiresAt: hold.expiresAt });
  if (cmd.expiresAt <= cmd.at) return fail({ _tag: 'InvalidExpiry', at: cmd.at, expiresAt: cmd.expiresAt });
  return ok({
    type: 'ReservationProgressed',
    data: {
      reservationId: cmd.reservationId,
      charged: charge.right,
      usage: cmd.usage,
      priceSheetVersion: cmd.priceSheetVersion,
      expiresAt: cmd.expiresAt,
      at: cmd.at,
    },
  });
};

/** The expiry event of a hold: it charges the last recorded progress, if any, and frees the rest. */
const expiryOf = (reservationId: string, hold: Reservation, at: number): CreditAccountEvent => {
  const last = hold.progress;
  return {
    type: 'ReservationExpired',
    data: {
      reservationId,
      amount: hold.amount,
      at,
      ...(last === undefined ? {} : { charged: last.charged, usage: last.usage, priceSheetVersion: last.priceSheetVersion }),
    },
  };
};

export const release = (cmd: Cmd<'ReleaseReservation'>, state: CreditAccountState): Decision => {
  const hold = findHold(state, cmd.reservationId);
  if (hold === undefined) return fail({ _tag: 'ReservationNotFound', reservationId: cmd.reservationId });
  if (hold.status === 'released') return nothing;
  if (hold.status !== 'open') return fail({ _tag: 'ReservationAlreadyResolved', reservationId: cmd.reservationId, status: hold.status });
  // A hold with recorded progress delivered that much: releasing it would make the output free.
  const recorded = hold.progress?.charged ?? 0;
  if (recorded > 0) return fail({ _tag: 'ProgressRegressed', reservationId: cmd.reservationId, charge: 0, recorded });
  const event: CreditAccountEvent = { type: 'ReservationReleased', data: { reservationId: cmd.reservationId, amount: hold.amount, reason: cmd.reason, at: cmd.at } };
  return resolution(state, hold, 0, event, cmd.at);
};

export const expireOne = (cmd: Cmd<'ExpireReservation'>, state: CreditAccountState): Decision => {
  const hold = findHold(state, cmd.reservationId);
  if (hold === undefined) return fail({ _tag: 'ReservationNotFound', reservationId: cmd.reservationId });
  if (hold.status === 'expired') return nothing;
  if (hold.status !== 'open') return fail({ _tag: 'ReservationAlreadyResolved', reservationId: cmd.reservationId, status: hold.status });
  if (cmd.at < hold.expiresAt) return fail({ _tag: 'ReservationNotExpired', reservationId: cmd.reservationId, expiresAt: hold.expiresAt });
  return resolution(state, hold, hold.progress?.charged ?? 0, expiryOf(cmd.reservationId, hold, cmd.at), cmd.at);
};

/**
 * Expires due holds first (each charges its recorded progress and returns
 * the rest to its grants), then every grant past its expiry loses all its
 * free credit, including what those holds just returned. Credit still
 * promised to an open hold stays with that hold; it expires the moment the
 * hold gives it back.
 */
export const sweep = (cmd: Cmd<'SweepExpired'>, state: OpenAccount): Decision => {
  const events: CreditAccountEvent[] = [];
  const returned = new Map<string, number>();
  for (const id of state.openHolds) {
    const hold = state.reservations.get(id);
    if (hold === undefined || hold.expiresAt + (cmd.holdGraceMs ?? 0) > cmd.at) continue;
    events.push(expiryOf(id, hold, cmd.at));
    for (const part of splitCharge(hold.allocation, hold.progress?.charged ?? 0).released) {
      returned.set(part.grantId, (returned.get(part.grantId) ?? 0) + part.amount);
    }
  }
  const due: GrantPot[] = [];
  for (const id of new Set([...state.spendOrder, ...returned.keys()])) {
    const pot = state.grants.get(id);
    if (pot !== undefined && isExpiredAt(pot, cmd.at)) due.push(pot);
  }
  due.sort(spendOrderCompare);
  for (const pot of due) {
    const amount = pot.free + (returned.get(pot.grantId) ?? 0);
    if (amount > 0) events.push({ type: 'GrantExpired', data: { grantId: pot.grantId, amount, at: cmd.at } });
  }
  return E.right(events);
};
