import type * as E from 'fp-ts/lib/Either.js';
import type { CreditAccountError, Usage as UsageRecord } from '../../domain/creditAccount/index.js';
import type { Clock, Logger } from '../ports/clock.js';
import type { Usage } from '../ports/llmProvider.js';

/**
 * Keeps a running stream's hold alive and honest (issue 10, case 4).
 *
 * At most every `progressMs` the stream's usage so far, priced, is recorded on
 * its hold, and the hold's expiry moves to now + `holdTtlMs`. If this process
 * dies, the hold's expiry charges the last recorded progress, so a crash
 * costs at most `progressMs` of output, never the whole stream.
 *
 * The write is fired and its result reacted to later: no chunk ever waits for
 * the store. The stream must stop (and settle) when:
 * - the ledger refused the progress (the hold expired or was resolved): `holdLost`;
 * - the store has not taken a progress for so long that the hold is within
 *   its safety margin of ending (a quarter of the TTL, and at least two
 *   progress intervals): `holdNotExtended`. Stopping then leaves the settle
 *   time to land before any sweeper can expire the hold, even when chunks
 *   arrive seconds apart;
 * - the stream ran `streamMaxMs`: `streamMax`.
 */
export type StreamStopReason = 'holdLost' | 'holdNotExtended' | 'streamMax';

export type ProgressInput = {
  readonly accountId: string;
  readonly reservationId: string;
  readonly charge: number;
  readonly usage: UsageRecord;
  readonly priceSheetVersion: string;
  readonly ttlMs: number;
};

/** `Ledger.progress`, as far as this module needs it. */
export type RecordProgress = (
  input: ProgressInput,
  options?: { readonly correlationId?: string },
) => Promise<E.Either<CreditAccountError, { readonly expiresAt: number; readonly charged: number }>>;

export type HoldKeeperDeps = {
  readonly progress: RecordProgress;
  readonly clock: Clock;
  readonly logger: Logger;
  /** HOLD_PROGRESS_MS: least time between two progress records of one hold. */
  readonly progressMs: number;
  /** HOLD_TTL_MS: how far each progress moves the hold's expiry. */
  readonly holdTtlMs: number;
  /** STREAM_MAX_MS: longest a stream may run. */
  readonly streamMaxMs: number;
};

export type KeptHold = {
  readonly accountId: string;
  readonly reservationId: string;
  readonly correlationId: string;
  readonly priceSheetVersion: string;
  /** When the hold was taken and when it expires as taken. */
  readonly startedAt: number;
  readonly expiresAt: number;
  /** The charge for a usage, already capped at the hold. */
  readonly price: (usage: Usage) => number;
  readonly usageRecord: (usage: Usage) => UsageRecord;
};

export type HoldKeeper = {
  /**
   * Called after each chunk; returns why the stream must stop, if it must.
   * `usage` is asked only when a progress record is due: counting the usage
   * so far is the costly part, and it is needed every few seconds, not per chunk.
   */
  readonly check: (usage: () => Usage) => StreamStopReason | undefined;
  readonly stopReason: () => StreamStopReason | undefined;
  /** The last progress the ledger accepted, if any. */
  readonly recorded: () => { readonly charge: number; readonly usage: Usage } | undefined;
  /** Resolves when no progress write is in flight (so a settle is decided after it). */
  readonly idle: () => Promise<void>;
};

export const makeHoldKeeper = (deps: HoldKeeperDeps, hold: KeptHold): HoldKeeper => {
  const { clock, logger } = deps;
  let expiresAt = hold.expiresAt;
  let lastWriteAt = hold.startedAt;
  let writing: Promise<void> | undefined;
  let stop: StreamStopReason | undefined;
  let recorded: { charge: number; usage: Usage } | undefined;
  const marginMs = Math.max(2 * deps.progressMs, Math.floor(deps.holdTtlMs / 4));

  const fire = (usage: Usage, now: number) => {
    lastWriteAt = now;
    const charge = hold.price(usage);
    const input: ProgressInput = {
      accountId: hold.accountId,
      reservationId: hold.reservationId,
      charge,
      usage: hold.usageRecord(usage),
      priceSheetVersion: hold.priceSheetVersion,
      ttlMs: deps.holdTtlMs,
    };
    writing = deps
      .progress(input, { correlationId: hold.correlationId })
      .then(
        (result) => {
          if (result._tag === 'Left') {
            stop ??= 'holdLost';
            logger.warn({ requestId: hold.correlationId, reservationId: hold.reservationId, error: result.left }, 'hold progress refused; stopping the stream');
            return;
          }
          expiresAt = Math.max(expiresAt, result.right.expiresAt);
          recorded = { charge, usage };
        },
        (error: unknown) => {
          // The store is down: keep streaming while the hold still has life; check() stops the stream before it ends.
          logger.warn({ requestId: hold.correlationId, reservationId: hold.reservationId, err: error instanceof Error ? error.message : String(error) }, 'hold progress not recorded');
        },
      )
      .finally(() => {
        writing = undefined;
      });
  };

  return {
    check: (usage) => {
      if (stop !== undefined) return stop;
      const now = clock.now();
      if (now - hold.startedAt >= deps.streamMaxMs) return (stop = 'streamMax');
      if (now >= expiresAt - marginMs) return (stop = 'holdNotExtended');
      if (writing === undefined && now - lastWriteAt >= deps.progressMs) fire(usage(), now);
      return undefined;
    },
    stopReason: () => stop,
    recorded: () => recorded,
    idle: async () => {
      await writing;
    },
  };
};
