import * as E from 'fp-ts/lib/Either.js';
import type { CreditAccountError, HoldEnd, Usage as UsageRecord } from '../../domain/creditAccount/index.js';
import type { Ledger } from '../credits/ledger.js';
import type { Clock, Ids, Logger } from '../ports/clock.js';
import type { BackoffPolicy, Supervisor } from '../supervisor.js';
import { backoffMs, makeSupervisor } from '../supervisor.js';

/**
 * Settlement that never gives up (issue 10, case 5). A settle is tried in the
 * foreground a couple of times; if the store still cannot take it, the caller
 * is told it is pending and the same settle (same reservation id, same
 * charge) is retried in the background with a capped, jittered backoff until
 * it is written. The ledger makes a repeated settle a no-op, so a retry of a
 * write that had in fact committed charges nothing more: every delivered
 * output is charged exactly once.
 *
 * If this process dies while a settle is pending, the hold's recorded
 * progress (see holdKeeper.ts) is what its expiry charges: at most one
 * progress interval of output goes unpaid.
 */
export type SettleInput = {
  readonly accountId: string;
  readonly reservationId: string;
  readonly charge: number;
  readonly usage: UsageRecord;
  readonly priceSheetVersion: string;
  readonly correlationId: string;
  /** How the stream ended, recorded on the settle for usage analytics. */
  readonly ended?: HoldEnd;
};

export type SettleOutcome =
  | { readonly kind: 'settled'; readonly charged: number; readonly balance: number; readonly available: number }
  /** Not written yet; being retried in the background. */
  | { readonly kind: 'pending' }
  /** The ledger refused it (the hold had expired or was resolved otherwise). */
  | { readonly kind: 'refused'; readonly error: CreditAccountError };

export type SettlementsDeps = {
  readonly ledger: Pick<Ledger, 'settle'>;
  readonly clock: Clock;
  readonly ids: Pick<Ids, 'random'>;
  readonly logger: Logger;
  readonly supervisor?: Supervisor;
  /** Tries in the foreground before answering "pending". Default 2. */
  readonly foregroundAttempts?: number;
  /**
   * Background retry delays. Default 200 ms doubling to 5 s: a pending settle must land soon after the
   * store is back, well inside HOLD_EXPIRY_GRACE_MS, or a sweep expires its hold for the last progress
   * only. A settle attempt against a store that is down fails fast, so the short cap costs little.
   */
  readonly backoff?: BackoffPolicy;
};

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export const makeSettlements = (deps: SettlementsDeps) => {
  const { ledger, clock, logger } = deps;
  const supervisor = deps.supervisor ?? makeSupervisor({ clock, ids: deps.ids, logger });
  const task = supervisor.task('settlements.pending');
  const policy = deps.backoff ?? { initialMs: 200, maxMs: 5_000 };
  const foregroundAttempts = deps.foregroundAttempts ?? 2;
  const pending = new Map<string, Promise<void>>();
  supervisor.gauge('settlements.pending', () => pending.size);

  const once = (input: SettleInput) =>
    ledger.settle(
      {
        accountId: input.accountId,
        reservationId: input.reservationId,
        charge: input.charge,
        usage: input.usage,
        priceSheetVersion: input.priceSheetVersion,
        ...(input.ended === undefined ? {} : { ended: input.ended }),
      },
      { correlationId: input.correlationId },
    );

  const outcomeOf = (result: Awaited<ReturnType<typeof once>>): SettleOutcome =>
    E.isLeft(result)
      ? { kind: 'refused', error: result.left }
      : { kind: 'settled', charged: result.right.charged, balance: result.right.balance, available: result.right.available };

  /** Retries until the settle is written or refused; never throws. */
  const inBackground = async (input: SettleInput) => {
    for (let attempt = 1; ; attempt++) {
      await clock.sleep(backoffMs(policy, attempt, deps.ids.random));
      try {
        const outcome = outcomeOf(await once(input));
        task.succeeded();
        if (outcome.kind === 'refused') {
          logger.error({ requestId: input.correlationId, reservationId: input.reservationId, charge: input.charge, error: outcome.error }, 'pending settlement refused; the hold ended otherwise');
        } else if (outcome.kind === 'settled') {
          logger.info({ requestId: input.correlationId, reservationId: input.reservationId, charged: outcome.charged, attempts: attempt }, 'pending settlement written');
        }
        return;
      } catch (error) {
        task.failed(error);
      }
    }
  };

  const settle = async (input: SettleInput): Promise<SettleOutcome> => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= foregroundAttempts; attempt++) {
      try {
        return outcomeOf(await once(input));
      } catch (error) {
        lastError = error;
        if (attempt < foregroundAttempts) await clock.sleep(50 * attempt);
      }
    }
    logger.warn({ requestId: input.correlationId, reservationId: input.reservationId, charge: input.charge, err: errorText(lastError) }, 'settlement not written; retrying in the background');
    if (!pending.has(input.reservationId)) {
      const running = inBackground(input).finally(() => pending.delete(input.reservationId));
      pending.set(input.reservationId, running);
    }
    return { kind: 'pending' };
  };

  return {
    settle,
    /** Settlements still being retried (for /health and tests). */
    pending: () => pending.size,
    /** Resolves when every settlement pending now is written (tests, shutdown with a deadline). */
    drained: async () => {
      await Promise.all([...pending.values()]);
    },
  };
};

export type Settlements = ReturnType<typeof makeSettlements>;
