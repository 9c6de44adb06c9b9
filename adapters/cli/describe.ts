import type { CreditAccountError } from '../../domain/creditAccount/index.js';

/** One sentence per refusal, for people at a terminal. */
export const describeError = (e: CreditAccountError): string => {
  switch (e._tag) {
    case 'InvalidAmount':
      return `invalid amount ${JSON.stringify(e.value)}: ${e.reason.replace('_', ' ')}`;
    case 'InvalidExpiry':
      return 'the expiry must be after now';
    case 'InvalidId':
      return `invalid ${e.field}: must be 1 to 200 characters`;
    case 'InvalidPriority':
      return `invalid priority ${JSON.stringify(e.value)}: must be an integer`;
    case 'AccountNotOpen':
      return `account ${e.accountId} is not open`;
    case 'InsufficientCredits':
      return `insufficient credits: requested ${e.requested}, available ${e.available}`;
    case 'IdConflict':
      return `id conflict: ${e.kind} ${e.id} was already used with a different ${e.field}`;
    case 'ReservationNotFound':
      return `no reservation ${e.reservationId}`;
    case 'ReservationAlreadyResolved':
      return `reservation ${e.reservationId} is already ${e.status}`;
    case 'ReservationNotExpired':
      return `reservation ${e.reservationId} does not expire before ${new Date(e.expiresAt).toISOString()}`;
    case 'ChargeExceedsHold':
      return `charge ${e.charge} exceeds the hold of ${e.hold} on ${e.reservationId}`;
    case 'DeductionNotFound':
      return `no deduction ${e.deductionId}`;
    case 'RefundExceedsDeduction':
      return `refund ${e.requested} exceeds the refundable ${e.refundable} of deduction ${e.deductionId}`;
    case 'ProgressRegressed':
      return `charge ${e.charge} is below the ${e.recorded} already recorded on ${e.reservationId}`;
    case 'ReservationExpiredAlready':
      return `reservation ${e.reservationId} expired at ${new Date(e.expiresAt).toISOString()} and cannot be extended`;
    case 'SettlementNotFound':
      return `no charged reservation ${e.reservationId}`;
    case 'RefundExceedsSettlement':
      return `refund ${e.requested} exceeds the refundable ${e.refundable} of reservation ${e.reservationId}`;
  }
};
