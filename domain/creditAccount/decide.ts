import * as E from 'fp-ts/lib/Either.js';
import { absurd } from '../shared/decider.js';
import { parsePositive } from '../shared/money.js';
import { allocate, refundParts, spendableAt, splitCharge } from './burnDown.js';
import type { CreditAccountCommand } from './commands.js';
import type { Cmd, Decision } from './decision.js';
import { checkId, conflict, expireReturned, fail, nothing, ok } from './decision.js';
import { expireOne, progress, release, reserve, settle, sweep } from './decideHolds.js';
import type { CreditAccountError } from './errors.js';
import { insufficient } from './errors.js';
import type { CreditAccountEvent } from './events.js';
import type { CreditAccountState, OpenAccount } from './state.js';

const grant = (cmd: Cmd<'GrantCredits'>, state: CreditAccountState): Decision => {
  const badId = checkId('grantId', cmd.grantId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  if (cmd.expiresAt !== undefined && cmd.expiresAt <= cmd.at) return fail({ _tag: 'InvalidExpiry', at: cmd.at, expiresAt: cmd.expiresAt });
  if (cmd.priority !== undefined && !Number.isSafeInteger(cmd.priority)) return fail({ _tag: 'InvalidPriority', value: cmd.priority });
  if (state.status === 'open') {
    const first = state.grants.get(cmd.grantId);
    if (first !== undefined) {
      if (first.amount !== cmd.amount) return conflict('grant', cmd.grantId, 'amount');
      if (first.expiresAt !== cmd.expiresAt) return conflict('grant', cmd.grantId, 'expiresAt');
      if (first.priority !== (cmd.priority ?? 0)) return conflict('grant', cmd.grantId, 'priority');
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
      ...(cmd.priority === undefined || cmd.priority === 0 ? {} : { priority: cmd.priority }),
    },
  };
  // Granting to an account that does not exist yet opens it: an admin's first grant is how accounts begin.
  if (state.status === 'none') return ok({ type: 'AccountOpened', data: { accountId: cmd.accountId, at: cmd.at } }, granted);
  if (!Number.isSafeInteger(state.balance + amount.right)) return fail({ _tag: 'InvalidAmount', value: cmd.amount, reason: 'unsafe' });
  return ok(granted);
};

/** A direct spend, decided at its own instant: credit past its expiry is not spendable, swept or not. */
const deduct = (cmd: Cmd<'DeductCredits'>, state: CreditAccountState): Decision => {
  const badId = checkId('deductionId', cmd.deductionId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  if (state.status !== 'open') return fail(insufficient(amount.right, 0));
  const first = state.deductions.get(cmd.deductionId);
  if (first !== undefined) {
    if (first.amount !== cmd.amount) return conflict('deduction', cmd.deductionId, 'amount');
    if (first.service !== cmd.service) return conflict('deduction', cmd.deductionId, 'service');
    return nothing;
  }
  const free = spendableAt(state, cmd.at);
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
      allocation: allocate(state, amount.right, cmd.at),
    },
  });
};

type RefundCmd = Cmd<'RefundDeduction'> | Cmd<'RefundSettlement'>;
const chargeIdOf = (cmd: RefundCmd) => (cmd.type === 'RefundDeduction' ? cmd.deductionId : cmd.reservationId);

/** Checks shared by both refunds; `undefined` means "go on", a Decision is the answer. */
const refundPreamble = (cmd: RefundCmd, state: CreditAccountState): Decision | OpenAccount => {
  const badId = checkId('refundId', cmd.refundId);
  if (badId) return fail(badId);
  const amount = parsePositive(cmd.amount);
  if (E.isLeft(amount)) return amount;
  const kind = cmd.type === 'RefundDeduction' ? 'deduction' : 'settlement';
  const notFound: CreditAccountError =
    cmd.type === 'RefundDeduction' ? { _tag: 'DeductionNotFound', deductionId: cmd.deductionId } : { _tag: 'SettlementNotFound', reservationId: cmd.reservationId };
  if (state.status === 'none') return fail(notFound);
  const first = state.refunds.get(cmd.refundId);
  if (first !== undefined) {
    // Refund ids are one namespace: the same id cannot refund a deduction and a settlement.
    if (first.kind !== kind || first.chargeId !== chargeIdOf(cmd)) return conflict('refund', cmd.refundId, kind === 'deduction' ? 'deductionId' : 'reservationId');
    if (first.amount !== cmd.amount) return conflict('refund', cmd.refundId, 'amount');
    return nothing;
  }
  return state;
};

/** Credit refunded goes back to the grants the charge took it from (burnDown.ts); to an expired grant it expires at once. */
const refundDeduction = (cmd: Cmd<'RefundDeduction'>, state: CreditAccountState): Decision => {
  const open = refundPreamble(cmd, state);
  if (!('status' in open)) return open;
  const deduction = open.deductions.get(cmd.deductionId);
  if (deduction === undefined) return fail({ _tag: 'DeductionNotFound', deductionId: cmd.deductionId });
  const refundable = deduction.amount - deduction.refunded;
  if (cmd.amount > refundable) return fail({ _tag: 'RefundExceedsDeduction', deductionId: cmd.deductionId, requested: cmd.amount, refundable });
  const event: CreditAccountEvent = {
    type: 'DeductionRefunded',
    data: {
      refundId: cmd.refundId,
      deductionId: cmd.deductionId,
      amount: cmd.amount,
      at: cmd.at,
      ...(cmd.reason === undefined ? {} : { reason: cmd.reason }),
      ...(cmd.by === undefined ? {} : { by: cmd.by }),
    },
  };
  return ok(event, ...expireReturned(open, refundParts(deduction.allocation, deduction.refunded, cmd.amount), cmd.at));
};

const refundSettlement = (cmd: Cmd<'RefundSettlement'>, state: CreditAccountState): Decision => {
  const open = refundPreamble(cmd, state);
  if (!('status' in open)) return open;
  const hold = open.reservations.get(cmd.reservationId);
  // Only a resolved hold that charged (settled, or expired with progress) has a charge to refund.
  if (hold === undefined || hold.status === 'open' || hold.status === 'released') return fail({ _tag: 'SettlementNotFound', reservationId: cmd.reservationId });
  const charged = hold.charged ?? 0;
  const refundable = charged - hold.refunded;
  if (cmd.amount > refundable) return fail({ _tag: 'RefundExceedsSettlement', reservationId: cmd.reservationId, requested: cmd.amount, refundable });
  const event: CreditAccountEvent = {
    type: 'SettlementRefunded',
    data: {
      refundId: cmd.refundId,
      reservationId: cmd.reservationId,
      amount: cmd.amount,
      at: cmd.at,
      ...(cmd.reason === undefined ? {} : { reason: cmd.reason }),
      ...(cmd.by === undefined ? {} : { by: cmd.by }),
    },
  };
  const spent = splitCharge(hold.allocation, charged).charged;
  return ok(event, ...expireReturned(open, refundParts(spent, hold.refunded, cmd.amount), cmd.at));
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
      return refundDeduction(command, state);
    case 'RefundSettlement':
      return refundSettlement(command, state);
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
