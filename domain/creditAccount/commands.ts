import type { Instant } from '../shared/decider.js';
import type { HoldEnd, Purpose, Usage } from './events.js';

/**
 * Commands carry raw numbers for amounts: `decide` is where an amount is
 * judged, so a zero, negative, fractional or unsafe value is refused there and
 * the reason is the same whichever adapter sent it. Time (`at`) and ids are
 * chosen outside the domain and arrive as data.
 */
export type CreditAccountCommand =
  | { readonly type: 'OpenAccount'; readonly accountId: string; readonly at: Instant }
  | {
      readonly type: 'GrantCredits';
      readonly accountId: string;
      readonly grantId: string;
      readonly amount: number;
      readonly at: Instant;
      readonly expiresAt?: Instant;
      readonly reason?: string;
      readonly by?: string;
      /** Spending order: higher first; default 0 (see burnDown.ts). */
      readonly priority?: number;
    }
  | {
      readonly type: 'DeductCredits';
      readonly deductionId: string;
      readonly amount: number;
      readonly service: string;
      readonly at: Instant;
      readonly reason?: string;
      readonly sessionId?: string;
      readonly by?: string;
    }
  | {
      readonly type: 'RefundDeduction';
      readonly refundId: string;
      readonly deductionId: string;
      readonly amount: number;
      readonly at: Instant;
      readonly reason?: string;
      readonly by?: string;
    }
  /** Refund (part of) what a hold charged: a settled hold, or one that expired charging its progress. */
  | {
      readonly type: 'RefundSettlement';
      readonly refundId: string;
      readonly reservationId: string;
      readonly amount: number;
      readonly at: Instant;
      readonly reason?: string;
      readonly by?: string;
    }
  | {
      readonly type: 'ReserveCredits';
      readonly reservationId: string;
      readonly amount: number;
      readonly at: Instant;
      readonly expiresAt: Instant;
      readonly purpose: Purpose;
    }
  | {
      readonly type: 'SettleReservation';
      readonly reservationId: string;
      /** What the usage cost; may be 0 (nothing produced), never above the hold. */
      readonly charge: number;
      readonly usage: Usage;
      readonly priceSheetVersion: string;
      readonly at: Instant;
      /** How the work ended (for analytics); a settle without it is read as completed. */
      readonly ended?: HoldEnd;
    }
  /**
   * A running hold records what it has cost so far and moves its expiry on:
   * if the process dies, expiry charges this much instead of releasing all.
   */
  | {
      readonly type: 'RecordHoldProgress';
      readonly reservationId: string;
      /** Credits used so far: never below the last recorded progress, never above the hold. */
      readonly charge: number;
      readonly usage: Usage;
      readonly priceSheetVersion: string;
      /** The hold's new expiry instant (must lie after `at`). */
      readonly expiresAt: Instant;
      readonly at: Instant;
    }
  | { readonly type: 'ReleaseReservation'; readonly reservationId: string; readonly reason: string; readonly at: Instant }
  /** Expires one hold whose expiry instant has passed. */
  | { readonly type: 'ExpireReservation'; readonly reservationId: string; readonly at: Instant }
  /** The sweeper: expires every open hold and every grant whose instant has passed. */
  | {
      readonly type: 'SweepExpired';
      readonly at: Instant;
      /**
       * How long past its expiry a hold is left for its owner to settle before a
       * sweep expires it (default 0). A process that delivered output during a
       * store outage retries its settle when the store returns; the grace lets
       * that settle land before any sweeper, on any instance, expires the hold
       * for its last recorded progress only.
       */
      readonly holdGraceMs?: number;
    };

export type CreditAccountCommandType = CreditAccountCommand['type'];
