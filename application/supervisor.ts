import type { Clock, Ids, Logger } from './ports/clock.js';
import type { EventStore, RecordedEvent, Subscription } from './ports/eventStore.js';

/**
 * Background work that must never stop: the sweeper's tick, its due-grant
 * path, the catch-up subscriptions, the video poller, settlements still being
 * written. Each piece is a named task; a failure is logged, counted and
 * retried after a capped, jittered backoff, and a success resets the count.
 * The state of every task (last success, consecutive failures, lag) is what
 * /health shows and /metrics exports, through `state()`.
 *
 * Timers are unref'd: background work never keeps a process alive on its own.
 */
export type BackoffPolicy = { readonly initialMs: number; readonly maxMs: number };

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000 };

/** Half-jittered exponential backoff: between half and all of min(max, initial * 2^(attempt-1)). */
export const backoffMs = (policy: BackoffPolicy, attempt: number, random: () => number): number => {
  const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
};

export type TaskState = {
  readonly name: string;
  readonly lastSuccessAt: number | undefined;
  readonly lastFailureAt: number | undefined;
  readonly consecutiveFailures: number;
  readonly totalFailures: number;
  readonly restarts: number;
  /** The last failure's message (never a secret: store and provider errors only). */
  readonly lastError: string | undefined;
  /** How far behind the task is: for a subscription, the age of the last event it handled; for a loop, the time since its last success. */
  readonly lagMs: number;
};

type MutableTask = { -readonly [K in keyof TaskState]: TaskState[K] } & { lagAt: number | undefined };

export type SupervisorDeps = {
  readonly clock: Clock;
  readonly ids: Pick<Ids, 'random'>;
  readonly logger: Logger;
  readonly backoff?: BackoffPolicy;
};

export type TaskHandle = {
  readonly succeeded: (lagMs?: number) => void;
  readonly failed: (error: unknown) => void;
  /** The delay before the next try, given the failures so far. */
  readonly retryDelayMs: () => number;
  readonly restarted: () => void;
};

export type Loop = { readonly stop: () => void; readonly runNow: () => Promise<void> };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error)).slice(0, 300);

export const makeSupervisor = (deps: SupervisorDeps) => {
  const { clock, logger } = deps;
  const policy = deps.backoff ?? DEFAULT_BACKOFF;
  const tasks = new Map<string, MutableTask>();
  const gauges = new Map<string, () => number>();
  let unhandledRejections = 0;

  const entry = (name: string): MutableTask => {
    let t = tasks.get(name);
    if (t === undefined) {
      t = { name, lastSuccessAt: undefined, lastFailureAt: undefined, consecutiveFailures: 0, totalFailures: 0, restarts: 0, lastError: undefined, lagMs: 0, lagAt: undefined };
      tasks.set(name, t);
    }
    return t;
  };

  const task = (name: string): TaskHandle => {
    const t = entry(name);
    return {
      succeeded: (lagMs) => {
        t.lastSuccessAt = clock.now();
        t.consecutiveFailures = 0;
        t.lagMs = lagMs ?? 0;
        t.lagAt = lagMs === undefined ? undefined : t.lastSuccessAt;
      },
      failed: (error) => {
        t.lastFailureAt = clock.now();
        t.consecutiveFailures += 1;
        t.totalFailures += 1;
        t.lastError = messageOf(error);
        logger.error({ task: name, consecutiveFailures: t.consecutiveFailures, err: t.lastError }, 'background task failed; will retry');
      },
      retryDelayMs: () => backoffMs(policy, t.consecutiveFailures, deps.ids.random),
      restarted: () => {
        t.restarts += 1;
      },
    };
  };

  /**
   * Runs `work` every `intervalMs`; after a failure, again after the backoff
   * instead (never later than the interval). A run is never started while the
   * previous one is still going.
   */
  const every = (name: string, intervalMs: number, work: () => Promise<void>): Loop => {
    const handle = task(name);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let running: Promise<void> | undefined;
    const runNow = (): Promise<void> =>
      (running ??= work()
        .then(() => handle.succeeded(), handle.failed)
        .finally(() => {
          running = undefined;
        }));
    const schedule = () => {
      if (stopped) return;
      const t = entry(name);
      const delay = t.consecutiveFailures > 0 ? Math.min(intervalMs, handle.retryDelayMs()) : intervalMs;
      timer = setTimeout(() => void runNow().then(schedule), delay);
      timer.unref();
    };
    schedule();
    return {
      runNow,
      stop: () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
      },
    };
  };

  /**
   * Any subscription, opened again after a backoff whenever it ends with an
   * error. `open` is called for each try with the error callback to pass to
   * the store, and decides where the try starts (after what was handled).
   * A try that catches up counts as a success; the returned subscription's
   * `caughtUp` is the first try's, and `stop` ends whichever try is current.
   */
  const resubscribe = (name: string, open: (onError: (error: unknown) => void) => Subscription): Subscription => {
    const handle = task(name);
    let current: Subscription | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const attempt = (): Subscription => {
      let ended = false;
      current = open((error) => {
        ended = true;
        handle.failed(error);
        if (stopped) return;
        timer = setTimeout(() => {
          timer = undefined;
          if (stopped) return;
          handle.restarted();
          attempt();
        }, handle.retryDelayMs());
        timer.unref();
      });
      // Some stores resolve caughtUp when the subscription fails too: only a live one counts as a success.
      void current.caughtUp.then(() => {
        if (!ended && !stopped) handle.succeeded(0);
      });
      return current;
    };
    const first = attempt();
    return {
      caughtUp: first.caughtUp,
      stop: async () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        await current?.stop();
      },
    };
  };

  /**
   * A catch-up subscription that is restarted, after a backoff, from the last
   * event its handler finished whenever it ends with an error. The handler
   * sees every event at least once and in order; a failed handler call is
   * delivered again on restart.
   */
  const subscribe = (
    name: string,
    store: Pick<EventStore, 'subscribeToAll'>,
    handler: (event: RecordedEvent) => Promise<void> | void,
    options: { readonly after?: number } = {},
  ): Subscription => {
    const handle = task(name);
    let position = options.after;
    return resubscribe(name, (onError) =>
      store.subscribeToAll(
        async (event) => {
          await handler(event);
          position = event.position;
          handle.succeeded(Math.max(0, clock.now() - event.metadata.recordedAt));
        },
        { ...(position === undefined ? {} : { after: position }), onError },
      ),
    );
  };

  const state = () => {
    const now = clock.now();
    return {
      unhandledRejections,
      gauges: Object.fromEntries([...gauges].map(([name, read]) => [name, read()])),
      tasks: [...tasks.values()].map(({ lagAt, ...t }): TaskState => ({
        ...t,
        // A loop's lag grows while it fails; a subscription's is the age of the last event, fixed when handled.
        lagMs: lagAt === undefined ? (t.lastSuccessAt === undefined ? 0 : Math.max(0, now - t.lastSuccessAt)) : t.lagMs,
      })),
    };
  };

  return {
    task,
    /** A number read when the state is (pending settlements, running jobs...). */
    gauge: (name: string, read: () => number) => void gauges.set(name, read),
    every,
    resubscribe,
    subscribe,
    state,
    /** For process.on('unhandledRejection'): logged and counted, never fatal. */
    unhandledRejection: (reason: unknown) => {
      unhandledRejections += 1;
      logger.error({ err: messageOf(reason), unhandledRejections }, 'unhandled promise rejection (logged, not fatal)');
    },
  };
};

export type Supervisor = ReturnType<typeof makeSupervisor>;
export type SupervisorState = ReturnType<Supervisor['state']>;
