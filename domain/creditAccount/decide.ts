import * as E from 'fp-ts/lib/Either.js';
import { absurd } from '../shared/decider.js';
import { parseNonNegative, parsePositive } from '../shared/money.js';
import type { CreditAccountCommand } from './commands.js';
import type { CreditAccountError } from './errors.js';
import { insufficient } from './errors.js';
import type { CreditAccountEvent, Usage } from './events.js';
import type { CreditAccountState, OpenAccount, Reservation } from './state.js';
import { available, consumeLots } from './state.js';

type Decision = E.Either<CreditAccountError, readonly CreditAccountEvent[]>;
type Cmd<T extends CreditAccountCommand['type']> = Extract<CreditAccountCommand, { type: T }>;

const ok = (...events: CreditAccountEvent[]): Decision => E.right(events);
const nothing: Decision = E.right([]);
const fail = (error: CreditAccountError): Decision => E.left(error);

const conflict = (kind: Extract<CreditAccountError, { _tag: 'IdConflict' }>['kind'], id: string, field: string): Decision =>
  fail({ _tag: 'IdConflict', kind, id, field });

/** Ids are caller-chosen strings; an empty or huge one is a client bug, refused before it reaches history. */
const checkId = (field: string, id: string): CreditAccountError | undefined =>
  typeof id !== 'string' || id.length === 0 || id.length > 200 ? { _tag: 'InvalidId', field } : undefined;

const grant = (cmd: Cmd<'GrantCredits'>, state: CreditAccountState): Decision => {
  const badId = checkId('grantId', cmd.grantId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  if (cmd.expiresAt !== undefined && cmd.expiresAt <= cmd.at) return fail({ _tag: 'InvalidExpiry', at: cmd.at, expiresAt: cmd.expiresAt });
  if (state.status === 'open') {
    const first = state.grants.get(cmd.grantId);
    if (first !== undefined) {
      if (first.amount !== cmd.amount) return conflict('grant', cmd.grantId, 'amount');
      if (first.expiresAt !== cmd.expiresAt) return conflict('grant', cmd.grantId, 'expiresAt');
      return nothing;
    }
  }
  const granted: CreditAccountEvent = {
    type: 'CreditsGranted',
    data: {
      grantId: cmd.grantId,
      amount: amount.right,
      at: cmd.at,
      ...(cmd.expiresAt === undefined ? {} : { expiresAt: cmd.expiresAt }),
      ...(cmd.reason === undefined ? {} : { reason: cmd.reason }),
      ...(cmd.by === undefined ? {} : { by: cmd.by }),
    },
  };
  // Granting to an account that does not exist yet opens it: an admin's first grant is how accounts begin.
  if (state.status === 'none') return ok({ type: 'AccountOpened', data: { accountId: cmd.accountId, at: cmd.at } }, granted);
  if (!Number.isSafeInteger(state.balance + amount.right)) return fail({ _tag: 'InvalidAmount', value: cmd.amount, reason: 'unsafe' });
  return ok(granted);
};

const deduct = (cmd: Cmd<'DeductCredits'>, state: CreditAccountState): Decision => {
  const badId = checkId('deductionId', cmd.deductionId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  if (state.status === 'open') {
    const first = state.deductions.get(cmd.deductionId);
    if (first !== undefined) {
      if (first.amount !== cmd.amount) return conflict('deduction', cmd.deductionId, 'amount');
      if (first.service !== cmd.service) return conflict('deduction', cmd.deductionId, 'service');
      return nothing;
    }
  }
  const free = available(state);
  if (amount.right > free) return fail(insufficient(amount.right, free));
  return ok({
    type: 'CreditsDeducted',
    data: {
      deductionId: cmd.deductionId,
      amount: amount.right,
      service: cmd.service,
      at: cmd.at,
      ...(cmd.reason === undefined ? {} : { reason: cmd.reason }),
      ...(cmd.sessionId === undefined ? {} : { sessionId: cmd.sessionId }),
      ...(cmd.by === undefined ? {} : { by: cmd.by }),
    },
  });
};

const refund = (cmd: Cmd<'RefundDeduction'>, state: CreditAccountState): Decision => {
  const badId = checkId('refundId', cmd.refundId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  if (state.status === 'none') return fail({ _tag: 'DeductionNotFound', deductionId: cmd.deductionId });
  const first = state.refunds.get(cmd.refundId);
  if (first !== undefined) {
    if (first.deductionId !== cmd.deductionId) return conflict('refund', cmd.refundId, 'deductionId');
    if (first.amount !== cmd.amount) return conflict('refund', cmd.refundId, 'amount');
    return nothing;
  }
  const deduction = state.deductions.get(cmd.deductionId);
  if (deduction === undefined) return fail({ _tag: 'DeductionNotFound', deductionId: cmd.deductionId });
  const refundable = deduction.amount - deduction.refunded;
  if (amount.right > refundable) {
    return fail({ _tag: 'RefundExceedsDeduction', deductionId: cmd.deductionId, requested: amount.right, refundable });
  }
  return ok({
    type: 'DeductionRefunded',
    data: {
      refundId: cmd.refundId,
      deductionId: cmd.deductionId,
      amount: amount.right,
      at: cmd.at,
      ...(cmd.reason === undefined ? {} : { reason: cmd.reason }),
      ...(cmd.by === undefined ? {} : { by: cmd.by }),
    },
  });
};

const reserve = (cmd: Cmd<'ReserveCredits'>, state: CreditAccountState): Decision => {
  const badId = checkId('reservationId', cmd.reservationId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  if (cmd.expiresAt <= cmd.at) return fail({ _tag: 'InvalidExpiry', at: cmd.at, expiresAt: cmd.expiresAt });
  if (state.status === 'open') {
    const first = state.reservations.get(cmd.reservationId);
    if (first !== undefined) {
      if (first.amount !== cmd.amount) return conflict('reservation', cmd.reservationId, 'amount');
      if (first.expiresAt !== cmd.expiresAt) return conflict('reservation', cmd.reservationId, 'expiresAt');
      if (first.purpose.service !== cmd.purpose.service) return conflict('reservation', cmd.reservationId, 'purpose');
      return nothing;
    }
  }
  const free = available(state);
  if (amount.right > free) return fail(insufficient(amount.right, free));
  return ok({
    type: 'CreditsReserved',
    data: { reservationId: cmd.reservationId, amount: amount.right, expiresAt: cmd.expiresAt, at: cmd.at, purpose: cmd.purpose },
  });
};

const findHold = (state: CreditAccountState, reservationId: string) =>
  state.status === 'open' ? state.reservations.get(reservationId) : undefined;

const settle = (cmd: Cmd<'SettleReservation'>, state: CreditAccountState): Decision => {
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
  return ok({
    type: 'ReservationSettled',
    data: {
      reservationId: cmd.reservationId,
      charged: charge.right,
      released: hold.amount - charge.right,
      usage: cmd.usage,
      priceSheetVersion: cmd.priceSheetVersion,
      at: cmd.at,
    },
  });
};

const usageKeys = ['provider', 'model', 'inputTokens', 'outputTokens', 'videoSeconds', 'resolution'] as const;
const sameUsage = (a: Usage, b: Usage) => usageKeys.every((k) => a[k] === b[k]);

/**
 * Progress of a running hold: the charge so far and a new expiry. The charge
 * only grows and stays within the hold; a hold whose expiry instant has passed
 * is not revived (the sweeper may be expiring it at this very moment), which
 * is what stops a stream that outlived its hold.
 */
const progress = (cmd: Cmd<'RecordHoldProgress'>, state: CreditAccountState): Decision => {
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

const release = (cmd: Cmd<'ReleaseReservation'>, state: CreditAccountState): Decision => {
  const hold = findHold(state, cmd.reservationId);
  if (hold === undefined) return fail({ _tag: 'ReservationNotFound', reservationId: cmd.reservationId });
  if (hold.status === 'released') return nothing;
  if (hold.status !== 'open') return fail({ _tag: 'ReservationAlreadyResolved', reservationId: cmd.reservationId, status: hold.status });
  return ok({ type: 'ReservationReleased', data: { reservationId: cmd.reservationId, amount: hold.amount, reason: cmd.reason, at: cmd.at } });
};

const expireOne = (cmd: Cmd<'ExpireReservation'>, state: CreditAccountState): Decision => {
  const hold = findHold(state, cmd.reservationId);
  if (hold === undefined) return fail({ _tag: 'ReservationNotFound', reservationId: cmd.reservationId });
  if (hold.status === 'expired') return nothing;
  if (hold.status !== 'open') return fail({ _tag: 'ReservationAlreadyResolved', reservationId: cmd.reservationId, status: hold.status });
  if (cmd.at < hold.expiresAt) return fail({ _tag: 'ReservationNotExpired', reservationId: cmd.reservationId, expiresAt: hold.expiresAt });
  return ok(expiryOf(cmd.reservationId, hold, cmd.at));
};

/**
 * Expires due holds first (which frees credit), then due grants. A grant can
 * only lose what is not promised to an open hold: the part still pledged
 * stays in its lot and expires at a later sweep, once the hold resolves.
 */
const sweep = (cmd: Cmd<'SweepExpired'>, state: OpenAccount): Decision => {
  const events: CreditAccountEvent[] = [];
  let held = state.held;
  let balance = state.balance;
  for (const id of state.openHolds) {
    const hold = state.reservations.get(id);
    if (hold === undefined || hold.expiresAt > cmd.at) continue;
    events.push(expiryOf(id, hold, cmd.at));
    held -= hold.amount;
    balance -= hold.progress?.charged ?? 0;
  }
  // Expiry charges come out of the lots first (evolve does the same), so a lot never expires twice.
  const lots = balance === state.balance ? state.lots : consumeLots(state.lots, state.balance - balance);
  let free = balance - held;
  for (const lot of lots) {
    if (lot.expiresAt > cmd.at || free === 0) continue;
    const amount = Math.min(lot.remaining, free);
    if (amount === 0) continue;
    events.push({ type: 'GrantExpired', data: { grantId: lot.grantId, amount, at: cmd.at } });
    free -= amount;
  }
  return E.right(events);
};

export const decide = (command: CreditAccountCommand, state: CreditAccountState): Decision => {
  switch (command.type) {
    case 'OpenAccount':
      return state.status === 'none' ? ok({ type: 'AccountOpened', data: { accountId: command.accountId, at: command.at } }) : nothing;
    case 'GrantCredits':
      return grant(command, state);
    case 'DeductCredits':
      return deduct(command, state);
    case 'RefundDeduction':
      return refund(command, state);
    case 'ReserveCredits':
      return reserve(command, state);
    case 'SettleReservation':
      return settle(command, state);
    case 'RecordHoldProgress':
      return progress(command, state);
    case 'ReleaseReservation':
      return release(command, state);
    case 'ExpireReservation':
      return expireOne(command, state);
    case 'SweepExpired':
      return state.status === 'open' ? sweep(command, state) : nothing;
    default:
      return absurd(command);
  }
};
