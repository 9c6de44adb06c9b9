import esdb from '@eventstore/db-client';
import type { AllStreamSubscription, EventStoreDBClient, ResolvedEvent } from '@eventstore/db-client';
import type { RecordedEvent, SubscribeOptions, Subscription } from '../../../application/ports/eventStore.js';
import { fromResolvedEvent, isSystemEvent, toEsdbPosition } from './esdbEvents.js';
import { readHead, release, type Head } from './esdbReads.js';

export type ReconnectPolicy = {
  /** First pause after a failure; it doubles per consecutive failure, with jitter. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Consecutive failures (no event or confirmation in between) before giving up and calling onError. */
  readonly maxAttempts: number;
};

type Handler = (event: RecordedEvent) => Promise<void> | void;

const grpcTransientCodes = new Set([1, 2, 4, 13, 14]); // CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE

/**
 * Failures worth a reconnect: the connection or the server went away, or the
 * server dropped a consumer it found too slow. A handler failure or an event
 * we cannot decode would only repeat, so those end the subscription.
 */
const isTransient = (error: unknown): boolean => {
  if (
    error instanceof esdb.UnavailableError ||
    error instanceof esdb.CancelledError ||
    error instanceof esdb.DeadlineExceededError ||
    error instanceof esdb.TimeoutError ||
    error instanceof esdb.NotLeaderError ||
    error instanceof esdb.UnknownError
  ) {
    return true;
  }
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || (typeof code === 'number' && grpcTransientCodes.has(code));
};

const delayFor = (policy: ReconnectPolicy, failures: number) => {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(failures - 1, 30));
  // Jitter keeps a fleet of gateways from reconnecting in lockstep.
  return Math.round(ceiling * (0.5 + Math.random() / 2));
};

/** What one subscription remembers across reconnects. */
type Follower = {
  readonly client: EventStoreDBClient;
  readonly handler: Handler;
  /** Position of the last event the handler finished (or the caller's `after`). */
  checkpoint: number | undefined;
  stopped: boolean;
  /** Consecutive failures; any event or confirmation resets it. */
  failures: number;
  handlerFailed: boolean;
  /** The newest ledger event at subscribe time, read once. */
  head: Head | undefined;
  current: AllStreamSubscription | undefined;
  readonly resolveCaughtUp: () => void;
};

const reachedHead = (f: Follower) =>
  f.head !== undefined &&
  (f.head._tag === 'Empty' || (f.head._tag === 'At' && f.checkpoint !== undefined && f.checkpoint >= f.head.position));

const deliver = async (f: Follower, event: RecordedEvent) => {
  try {
    await f.handler(event);
  } catch (error) {
    f.handlerFailed = true;
    throw error;
  }
  f.checkpoint = event.position;
  if (reachedHead(f)) f.resolveCaughtUp();
};

/** One subscription call, strictly after the checkpoint, until it ends or fails. */
const followOnce = async (f: Follower) => {
  if (f.head === undefined) {
    f.head = await readHead(f.client);
    if (reachedHead(f)) f.resolveCaughtUp();
  }
  const subscription = f.client.subscribeToAll({
    fromPosition: f.checkpoint === undefined ? esdb.START : toEsdbPosition(f.checkpoint),
    filter: esdb.excludeSystemEvents(),
  });
  f.current = subscription;
  if (f.stopped) return release(subscription, () => subscription.unsubscribe());
  let received = 0;
  let handled = 0;
  let caughtUpAfter = Number.POSITIVE_INFINITY;
  subscription.on('confirmation', () => (f.failures = 0));
  subscription.on('caughtUp', () => {
    // Everything pushed before the signal is either in the buffer or taken.
    caughtUpAfter = received + subscription.readableLength;
    if (handled >= caughtUpAfter) f.resolveCaughtUp();
  });
  try {
    for await (const item of subscription.iterator({ destroyOnReturn: false })) {
      received++;
      if (f.stopped) return;
      const resolved = item as ResolvedEvent;
      const raw = resolved.event;
      if (raw !== undefined && !isSystemEvent(raw.streamId, raw.type)) {
        const event = fromResolvedEvent(resolved);
        // The server starts strictly after the checkpoint; this guards the
        // "no duplicates" promise against one that does not.
        if (f.checkpoint === undefined || event.position > f.checkpoint) await deliver(f, event);
      }
      handled++;
      f.failures = 0;
      if (handled >= caughtUpAfter) f.resolveCaughtUp();
    }
  } finally {
    release(subscription, () => subscription.unsubscribe());
  }
};

/** Subscribes again after each transient failure, with backoff, until stopped or out of attempts. */
const followWithRetries = async (f: Follower, policy: ReconnectPolicy, pause: (ms: number) => Promise<void>) => {
  while (!f.stopped) {
    let failure: unknown;
    let failed = false;
    try {
      await followOnce(f);
    } catch (error) {
      failed = true;
      failure = error;
    }
    if (f.stopped) return;
    if (failed && (f.handlerFailed || !isTransient(failure))) throw failure;
    f.failures++;
    if (f.failures > policy.maxAttempts) {
      throw failed ? failure : new Error('EventStoreDB kept ending the $all subscription');
    }
    await pause(delayFor(policy, f.failures));
  }
};

/**
 * Catch-up subscriptions to `$all` that survive dropped connections: each one
 * remembers the position of the last event its handler finished, and after a
 * failure subscribes again strictly after it (with backoff), so the handler
 * sees every ledger event once, in order.
 *
 * `caughtUp` resolves once the handler has finished every event that was in
 * the store at subscribe time. Two signals establish that, whichever comes
 * first: the server's caught-up message (EventStoreDB 23.10+), counted in the
 * client's buffer so events received before it are handled first; and, for
 * servers that do not send it, reaching the newest ledger event read at
 * subscribe time.
 */
export const makeEsdbSubscriptions = (client: EventStoreDBClient, policy: ReconnectPolicy) => {
  const stops = new Set<() => Promise<void>>();

  const subscribe = (handler: Handler, options: SubscribeOptions = {}): Subscription => {
    let resolveCaughtUp!: () => void;
    const caughtUp = new Promise<void>((resolve) => (resolveCaughtUp = resolve));
    const f: Follower = {
      client,
      handler,
      checkpoint: options.after,
      stopped: false,
      failures: 0,
      handlerFailed: false,
      head: undefined,
      current: undefined,
      resolveCaughtUp,
    };
    let wake: (() => void) | undefined;
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });

    const running = followWithRetries(f, policy, pause)
      .catch((error: unknown) => {
        f.stopped = true;
        options.onError?.(error);
      })
      .finally(() => resolveCaughtUp());

    const stop = async () => {
      f.stopped = true;
      wake?.();
      const subscription = f.current;
      // Cancelling the call ends the iteration even while it waits for events.
      if (subscription !== undefined) release(subscription, () => subscription.unsubscribe());
      await running;
      stops.delete(stop);
    };
    stops.add(stop);
    return { caughtUp, stop };
  };

  const closeAll = async () => {
    await Promise.all([...stops].map((stop) => stop()));
  };

  return { subscribe, closeAll };
};
