import * as t from 'io-ts';
import { eventCodec } from '../shared/fields.js';

/**
 * Events of the CreditAccount stream (`account-<accountId>`). Amounts are
 * integers of the smallest credit unit; instants are ms since the epoch.
 * The codecs decode what a store hands back, so a malformed or foreign event
 * is an error instead of a silently wrong balance.
 */

const SafeInt = t.refinement(t.number, Number.isSafeInteger, 'SafeInteger');
const Amount = t.refinement(SafeInt, (n) => n > 0, 'PositiveAmount');
const NonNegative = t.refinement(SafeInt, (n) => n >= 0, 'NonNegativeAmount');

/** What produced a charge, so an auditor can recompute it from the price sheet. */
export const Usage = t.exact(
  t.partial({
    provider: t.string,
    model: t.string,
    inputTokens: NonNegative,
    outputTokens: NonNegative,
    videoSeconds: NonNegative,
    resolution: t.string,
  }),
);
export type Usage = t.TypeOf<typeof Usage>;

/** Why a hold was taken: shown in history, used for analytics. */
export const Purpose = t.exact(
  t.intersection([
    t.type({ service: t.string }),
    t.partial({ provider: t.string, model: t.string, requestId: t.string }),
  ]),
);
export type Purpose = t.TypeOf<typeof Purpose>;

const event = eventCodec;

/**
 * Which grants a spend took its credit from, in spending order (see
 * burnDown.ts). Optional: histories written before allocations existed have
 * none, and evolve derives one by the same rule.
 */
export const AllocationCodec = t.array(t.type({ grantId: t.string, amount: Amount }));

export const AccountOpened = event('AccountOpened', t.type({ accountId: t.string, at: SafeInt }));
export const CreditsGranted = event(
  'CreditsGranted',
  t.intersection([
    t.type({ grantId: t.string, amount: Amount, at: SafeInt }),
    t.partial({ expiresAt: SafeInt, reason: t.string, by: t.string, priority: SafeInt }),
  ]),
);
export const GrantExpired = event('GrantExpired', t.type({ grantId: t.string, amount: Amount, at: SafeInt }));
export const CreditsDeducted = event(
  'CreditsDeducted',
  t.intersection([
    t.type({ deductionId: t.string, amount: Amount, service: t.string, at: SafeInt }),
    t.partial({ reason: t.string, sessionId: t.string, by: t.string, allocation: AllocationCodec }),
  ]),
);
export const DeductionRefunded = event(
  'DeductionRefunded',
  t.intersection([
    t.type({ refundId: t.string, deductionId: t.string, amount: Amount, at: SafeInt }),
    t.partial({ reason: t.string, by: t.string }),
  ]),
);
export const CreditsReserved = event(
  'CreditsReserved',
  t.intersection([
    t.type({ reservationId: t.string, amount: Amount, expiresAt: SafeInt, at: SafeInt, purpose: Purpose }),
    t.partial({ allocation: AllocationCodec }),
  ]),
);
/** An admin's refund of (part of) what a hold charged, settled or expired with progress. */
export const SettlementRefunded = event(
  'SettlementRefunded',
  t.intersection([
    t.type({ refundId: t.string, reservationId: t.string, amount: Amount, at: SafeInt }),
    t.partial({ reason: t.string, by: t.string }),
  ]),
);
/** How the work a hold paid for ended: normally, stopped (client or gateway), or failed after output was produced. */
export const HoldEnd = t.keyof({ completed: null, stopped: null, failed: null });
export type HoldEnd = t.TypeOf<typeof HoldEnd>;

export const ReservationSettled = event(
  'ReservationSettled',
  t.intersection([
    t.type({
      reservationId: t.string,
      charged: NonNegative,
      released: NonNegative,
      usage: Usage,
      priceSheetVersion: t.string,
      at: SafeInt,
    }),
    // Absent on events written before it existed: read as 'completed'.
    t.partial({ ended: HoldEnd }),
  ]),
);
export const ReservationReleased = event(
  'ReservationReleased',
  t.type({ reservationId: t.string, amount: Amount, reason: t.string, at: SafeInt }),
);
export const ReservationProgressed = event(
  'ReservationProgressed',
  t.type({
    reservationId: t.string,
    charged: NonNegative,
    usage: Usage,
    priceSheetVersion: t.string,
    expiresAt: SafeInt,
    at: SafeInt,
  }),
);
/**
 * `amount` is the whole hold. `charged` (with the usage and price sheet of the
 * last recorded progress) is what expiry took from the balance; histories
 * written before progress existed have none, which means 0.
 */
export const ReservationExpired = event(
  'ReservationExpired',
  t.intersection([
    t.type({ reservationId: t.string, amount: Amount, at: SafeInt }),
    t.partial({ charged: NonNegative, usage: Usage, priceSheetVersion: t.string }),
  ]),
);

export const CreditAccountEvent = t.union([
  AccountOpened,
  CreditsGranted,
  GrantExpired,
  CreditsDeducted,
  DeductionRefunded,
  CreditsReserved,
  ReservationSettled,
  ReservationReleased,
  ReservationExpired,
  ReservationProgressed,
  SettlementRefunded,
]);
export type CreditAccountEvent = t.TypeOf<typeof CreditAccountEvent>;
export type CreditAccountEventType = CreditAccountEvent['type'];

type Of<T extends CreditAccountEventType> = Extract<CreditAccountEvent, { type: T }>;
export type AccountOpened = Of<'AccountOpened'>;
export type CreditsGranted = Of<'CreditsGranted'>;
export type GrantExpired = Of<'GrantExpired'>;
export type CreditsDeducted = Of<'CreditsDeducted'>;
export type DeductionRefunded = Of<'DeductionRefunded'>;
export type CreditsReserved = Of<'CreditsReserved'>;
export type ReservationSettled = Of<'ReservationSettled'>;
export type ReservationReleased = Of<'ReservationReleased'>;
export type ReservationExpired = Of<'ReservationExpired'>;
export type ReservationProgressed = Of<'ReservationProgressed'>;
export type SettlementRefunded = Of<'SettlementRefunded'>;

export const accountStream = (accountId: string) => `account-${accountId}`;
export const ACCOUNT_STREAM_PREFIX = 'account-';
