import * as E from 'fp-ts/lib/Either.js';
import { ACCOUNT_STREAM_PREFIX } from '../../domain/creditAccount/index.js';
import type { Clock, Logger } from '../ports/clock.js';
import type { EventStore, RecordedEvent, Subscription } from '../ports/eventStore.js';
import type { Loop, Supervisor } from '../supervisor.js';
import { makeSupervisor } from '../supervisor.js';
import { decodeAccountEvent } from './ledger.js';
import type { Ledger } from './ledger.js';

/**
 * The hold sweeper. A catch-up subscription keeps, for every account, the
 * instants at which something of it falls due (open holds, expiring grants);
 * every tick sweeps the accounts with something due. It is how holds of a
 * crashed process are released: their expiry passes, the sweeper expires
 * them, and the credit is available again.
 *
 * It never stops (issue 10, case 7): the tick and the subscription run under
 * the supervisor, which retries a failed tick after a backoff and restarts an
 * ended subscription from the last event it handled. An account whose sweep
 * failed keeps everything it had due, so nothing is forgotten; the next tick
 * tries it again. A due grant is dropped only after a sweep at or past its
 * instant succeeded and left the account nothing held that it could still fund.
 * Memory: one entry per open hold and per unexpired grant, not per event.
 */
export type SweeperDeps = {
  readonly store: EventStore;
  readonly ledger: Pick<Ledger, 'sweep'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
  /**
   * HOLD_EXPIRY_GRACE_MS: how long past its expiry a hold is left for its owner's settle (default 0).
   * Longer than the settlement retry's longest backoff, so a settle that waited out a store outage lands first.
   */
  readonly holdGraceMs?: number;
  /** Default: a supervisor of its own (tests); the service passes the shared one, whose state /health shows. */
  readonly supervisor?: Supervisor;
};

export const makeSweeper = (deps: SweeperDeps) => {
  const supervisor = deps.supervisor ?? makeSupervisor({ clock: deps.clock, ids: { random: () => 0.5 }, logger: deps.logger });
  const due = new Map<string, Map<string, number>>(); // accountId -> (item id -> instant)
  const graceMs = deps.holdGraceMs ?? 0;
  let subscription: Subscription | undefined;
  let loop: Loop | undefined;
  let sweeping = false;
  supervisor.gauge('sweeper.trackedAccounts', () => due.size);

  const track = (accountId: string, id: string, at: number | undefined) => {
    const items = due.get(accountId) ?? new Map<string, number>();
    if (at === undefined) items.delete(id);
    else items.set(id, at);
    if (items.size === 0) due.delete(accountId);
    else due.set(accountId, items);
  };

  const onEvent = (recorded: RecordedEvent) => {
    if (!recorded.streamName.startsWith(ACCOUNT_STREAM_PREFIX)) return;
    const event = decodeAccountEvent(recorded);
    if (event === undefined) return;
    const accountId = recorded.streamName.slice(ACCOUNT_STREAM_PREFIX.length);
    switch (event.type) {
      case 'CreditsReserved':
      case 'ReservationProgressed':
        // Progress moves a running hold's expiry: it falls due later.
        return track(accountId, `r:${event.data.reservationId}`, event.data.expiresAt + graceMs);
      case 'ReservationSettled':
      case 'ReservationReleased':
      case 'ReservationExpired':
        return track(accountId, `r:${event.data.reservationId}`, undefined);
      case 'CreditsGranted':
        return event.data.expiresAt === undefined ? undefined : track(accountId, `g:${event.data.grantId}`, event.data.expiresAt);
      default:
        // GrantExpired: a grant can expire in parts (credit pledged to holds waits); it is dropped after a clean sweep.
        return undefined;
    }
  };

  /** Sweeps one account; forgets its due grants once a sweep past their instant left nothing held. */
  const sweepAccount = async (accountId: string, now: number): Promise<number> => {
    const result = await deps.ledger.sweep(accountId, { holdGraceMs: graceMs });
    if (E.isLeft(result)) throw new Error(`sweep of ${accountId} refused: ${result.left._tag}`);
    const { expired, held } = result.right;
    if (expired.length > 0) deps.logger.info({ accountId, expired: expired.map((e) => e.type) }, 'swept expired holds/grants');
    if (held === 0) {
      for (const [id, at] of due.get(accountId) ?? []) if (id.startsWith('g:') && at <= now) track(accountId, id, undefined);
    }
    return expired.length;
  };

  /**
   * Sweeps every account with something due. One account's failure does not
   * stop the others; the tick still fails (so the supervisor counts it and
   * retries soon) and the failed account keeps its entries.
   */
  const sweepDue = async (): Promise<number> => {
    if (sweeping) return 0;
    sweeping = true;
    let swept = 0;
    const failed: string[] = [];
    let firstError: unknown;
    try {
      const now = deps.clock.now();
      for (const [accountId, items] of [...due.entries()]) {
        if (![...items.values()].some((at) => at <= now)) continue;
        try {
          swept += await sweepAccount(accountId, now);
        } catch (error) {
          failed.push(accountId);
          firstError ??= error;
        }
      }
    } finally {
      sweeping = false;
    }
    if (failed.length > 0) {
      throw new Error(`sweep failed for ${failed.length} account(s), kept for the next tick: ${firstError instanceof Error ? firstError.message : String(firstError)}`);
    }
    return swept;
  };

  return {
    start: async () => {
      subscription = supervisor.subscribe('sweeper.subscription', deps.store, onEvent);
      await subscription.caughtUp;
      loop = supervisor.every('sweeper.tick', deps.intervalMs, async () => {
        await sweepDue();
      });
    },
    /** Sweeps now (tests, shutdown); throws when an account could not be swept (it stays due). */
    sweepDue,
    /** Accounts with something due, for /stats. */
    tracked: () => due.size,
    /** Whether `id` (`r:<reservationId>` or `g:<grantId>`) of an account is still due (tests). */
    isTracked: (accountId: string, id: string) => due.get(accountId)?.has(id) === true,
    stop: async () => {
      loop?.stop();
      await subscription?.stop();
    },
  };
};

export type Sweeper = ReturnType<typeof makeSweeper>;
