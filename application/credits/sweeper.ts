import * as E from 'fp-ts/lib/Either.js';
import { ACCOUNT_STREAM_PREFIX } from '../../domain/creditAccount/index.js';
import type { Clock, Logger } from '../ports/clock.js';
import type { EventStore, Subscription } from '../ports/eventStore.js';
import { decodeAccountEvent } from './ledger.js';
import type { Ledger } from './ledger.js';

/**
 * The hold sweeper. A catch-up subscription keeps, for every account, the
 * instants at which something of it falls due (open holds, expiring grants);
 * every tick sweeps the accounts with something due. It is how holds of a
 * crashed process are released: their expiry passes, the sweeper expires
 * them, and the credit is available again.
 * Memory: one entry per open hold and per unexpired grant, not per event.
 */
export const makeSweeper = (deps: { store: EventStore; ledger: Ledger; clock: Clock; logger: Logger; intervalMs: number }) => {
  const due = new Map<string, Map<string, number>>(); // accountId -> (item id -> instant)
  let subscription: Subscription | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let sweeping = false;

  const track = (accountId: string, id: string, at: number | undefined) => {
    const items = due.get(accountId) ?? new Map<string, number>();
    if (at === undefined) items.delete(id);
    else items.set(id, at);
    if (items.size === 0) due.delete(accountId);
    else due.set(accountId, items);
  };

  const sweepDue = async (): Promise<number> => {
    if (sweeping) return 0;
    sweeping = true;
    let swept = 0;
    try {
      const now = deps.clock.now();
      for (const [accountId, items] of [...due.entries()]) {
        if (![...items.values()].some((at) => at <= now)) continue;
        const result = await deps.ledger.sweep(accountId);
        if (E.isRight(result) && result.right.expired.length > 0) {
          swept += result.right.expired.length;
          deps.logger.info({ accountId, expired: result.right.expired.map((e) => e.type) }, 'swept expired holds/grants');
        }
      }
    } catch (error) {
      deps.logger.error({ err: (error as Error).message }, 'sweep failed; will retry next tick');
    } finally {
      sweeping = false;
    }
    return swept;
  };

  return {
    start: async () => {
      subscription = deps.store.subscribeToAll((recorded) => {
        if (!recorded.streamName.startsWith(ACCOUNT_STREAM_PREFIX)) return;
        const event = decodeAccountEvent(recorded);
        if (event === undefined) return;
        const accountId = recorded.streamName.slice(ACCOUNT_STREAM_PREFIX.length);
        switch (event.type) {
          case 'CreditsReserved':
            return track(accountId, `r:${event.data.reservationId}`, event.data.expiresAt);
          case 'ReservationSettled':
          case 'ReservationReleased':
          case 'ReservationExpired':
            return track(accountId, `r:${event.data.reservationId}`, undefined);
          case 'CreditsGranted':
            return event.data.expiresAt === undefined ? undefined : track(accountId, `g:${event.data.grantId}`, event.data.expiresAt);
          case 'GrantExpired':
            // A grant can expire in parts (credit pledged to holds waits); keep it until a sweep finds nothing.
            return undefined;
          default:
            return undefined;
        }
      }, { onError: (error) => deps.logger.error({ err: (error as Error).message }, 'sweeper subscription ended') });
      await subscription.caughtUp;
      timer = setInterval(() => void sweepDue().then(pruneGrants), deps.intervalMs);
      timer.unref();
    },
    /** Sweeps now (tests, shutdown). */
    sweepDue,
    /** Accounts with something due, for /stats. */
    tracked: () => due.size,
    stop: async () => {
      if (timer !== undefined) clearInterval(timer);
      await subscription?.stop();
    },
  };

  /** Drops expired-grant entries whose account has nothing left to expire. */
  async function pruneGrants() {
    const now = deps.clock.now();
    for (const [accountId, items] of [...due.entries()]) {
      for (const [id, at] of items) {
        if (!id.startsWith('g:') || at > now) continue;
        const balance = await deps.ledger.balance(accountId);
        if (balance.held === 0) track(accountId, id, undefined);
      }
    }
  }
};

export type Sweeper = ReturnType<typeof makeSweeper>;
