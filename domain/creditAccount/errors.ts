import type { InvalidAmount } from '../shared/money.js';

/** Why a CreditAccount command was refused. Business outcomes, not exceptions. */
export type CreditAccountError =
  | InvalidAmount
  | { readonly _tag: 'InvalidExpiry'; readonly at: number; readonly expiresAt: number }
  | { readonly _tag: 'InvalidId'; readonly field: string }
  /** A grant's priority must be a safe integer. */
  | { readonly _tag: 'InvalidPriority'; readonly value: unknown }
  | { readonly _tag: 'AccountNotOpen'; readonly accountId: string }
  | { readonly _tag: 'InsufficientCredits'; readonly requested: number; readonly available: number }
  | {
      readonly _tag: 'IdConflict';
      readonly kind: 'grant' | 'deduction' | 'refund' | 'reservation' | 'settlement' | 'release' | 'progress';
      readonly id: string;
      /** Which input differs from the first command with this id. */
      readonly field: string;
    }
  | { readonly _tag: 'ReservationNotFound'; readonly reservationId: string }
  | {
      readonly _tag: 'ReservationAlreadyResolved';
      readonly reservationId: string;
      readonly status: 'settled' | 'released' | 'expired';
    }
  | { readonly _tag: 'ReservationNotExpired'; readonly reservationId: string; readonly expiresAt: number }
  | { readonly _tag: 'ChargeExceedsHold'; readonly reservationId: string; readonly charge: number; readonly hold: number }
  /** A progress record or a settle below the charge already recorded for the hold. */
  | { readonly _tag: 'ProgressRegressed'; readonly reservationId: string; readonly charge: number; readonly recorded: number }
  /** The hold's expiry instant has passed: it can no longer be extended, only settled or expired. */
  | { readonly _tag: 'ReservationExpiredAlready'; readonly reservationId: string; readonly expiresAt: number }
  | { readonly _tag: 'DeductionNotFound'; readonly deductionId: string }
  | { readonly _tag: 'RefundExceedsDeduction'; readonly deductionId: string; readonly requested: number; readonly refundable: number }
  /** No hold with this id charged anything (never reserved, or released without a charge). */
  | { readonly _tag: 'SettlementNotFound'; readonly reservationId: string }
  | { readonly _tag: 'RefundExceedsSettlement'; readonly reservationId: string; readonly requested: number; readonly refundable: number };

export const insufficient = (requested: number, available: number): CreditAccountError => ({
  _tag: 'InsufficientCredits',
  requested,
  available,
});
