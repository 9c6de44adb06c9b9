import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../domain/shared/decider.js';
import type { Clock, Ids } from './ports/clock.js';
import type { EventStore, ExpectedRevision, RecordedEvent } from './ports/eventStore.js';
import { sealEvents } from './integrity.js';

/**
 * Load, decide, append: the one way commands reach a stream.
 *
 * - Each stream's state is cached in memory with its revision and last hash,
 *   so a hot account is decided without any I/O and a long history is folded
 *   once per process, not once per command. Only the tail written since (by
 *   another process) is read, and only after a conflict proves it exists.
 * - Commands for the same stream are queued in this process, so concurrent
 *   requests on one account do not race each other into conflicts.
 * - A conflict with another process (WrongExpectedRevision) reloads the tail
 *   and decides again, a bounded number of times with jittered backoff.
 */
export type StreamView<S> = {
  readonly state: S;
  readonly revision: ExpectedRevision;
  readonly lastHash: string;
};

export type HandleResult<Ev, S> = {
  readonly events: readonly Ev[];
  readonly state: S;
  readonly revision: ExpectedRevision;
};

export class ConcurrencyExhausted extends Error {
  constructor(readonly streamName: string, readonly attempts: number) {
    super(`gave up on ${streamName} after ${attempts} concurrency conflicts`);
  }
}

export class CorruptEvent extends Error {
  constructor(readonly streamName: string, readonly revision: number, detail: string) {
    super(`event ${streamName}@${revision} does not decode: ${detail}`);
  }
}

export type HandlerOptions = {
  readonly maxAttempts?: number;
  readonly baseBackoffMs?: number;
  /** How many streams to keep cached (least recently used are dropped). */
  readonly cacheSize?: number;
};

export type HandleOptions = {
  readonly correlationId?: string;
  /**
   * Called once, right after `decide` first accepts the command and before its
   * append starts: the moment a caller may begin work that only makes sense if
   * the command will probably stand (the gateway opens the provider request
   * here, so the store's round trip hides behind the provider's latency).
   * The caller must still wait for the result: the append can lose a race.
   */
  readonly onDecided?: () => void;
};

export type CommandHandler<C, Ev, S, Err> = {
  readonly handle: (
    streamName: string,
    command: C | ((state: S) => C),
    options?: HandleOptions,
  ) => Promise<E.Either<Err, HandleResult<Ev, S>>>;
  /** Current state, caught up with the store (one tail read). */
  readonly load: (streamName: string) => Promise<StreamView<S>>;
  /** Drops a cached stream (tests, or after an operator rewrote the store). */
  readonly forget: (streamName: string) => void;
};

export const makeCommandHandler = <C, Ev extends { type: string; data: unknown }, S, Err>(deps: {
  readonly store: EventStore;
  readonly decider: Decider<C, Ev, S, Err>;
  /** Decodes a stored event; returns undefined for a malformed one. */
  readonly decode: (event: RecordedEvent) => Ev | undefined;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly options?: HandlerOptions;
}): CommandHandler<C, Ev, S, Err> => {
  const { store, decider, clock, ids } = deps;
  const maxAttempts = deps.options?.maxAttempts ?? 20;
  const baseBackoffMs = deps.options?.baseBackoffMs ?? 2;
  const cacheSize = deps.options?.cacheSize ?? 50_000;
  const cache = new Map<string, StreamView<S>>();
  const queues = new Map<string, Promise<unknown>>();

  const remember = (name: string, view: StreamView<S>) => {
    cache.delete(name);
    cache.set(name, view);
    if (cache.size > cacheSize) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
  };

  /** Folds whatever the store holds after the cached revision into the cached state. */
  const catchUp = async (name: string): Promise<StreamView<S>> => {
    const cached = cache.get(name);
    let view: StreamView<S> = cached ?? { state: decider.initialState, revision: 'no_stream', lastHash: '' };
    const from = view.revision === 'no_stream' ? 0 : view.revision + 1;
    let { state, revision, lastHash } = view;
    for await (const recorded of store.readStream(name, { fromRevision: from })) {
      const event = deps.decode(recorded);
      if (event === undefined) throw new CorruptEvent(name, recorded.revision, `unknown or malformed ${recorded.type}`);
      state = decider.evolve(state, event);
      revision = recorded.revision;
      lastHash = recorded.metadata.hash;
    }
    view = { state, revision, lastHash };
    remember(name, view);
    return view;
  };

  const serialized = <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const previous = queues.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    queues.set(name, tail);
    void tail.then(() => {
      if (queues.get(name) === tail) queues.delete(name);
    });
    return next;
  };

  const attempt = async (
    name: string,
    command: C | ((state: S) => C),
    options: HandleOptions,
  ): Promise<E.Either<Err, HandleResult<Ev, S>>> => {
    const { correlationId } = options;
    let decidedOnce = false;
    let view = cache.get(name) ?? (await catchUp(name));
    for (let attemptNo = 1; ; attemptNo++) {
      const cmd = typeof command === 'function' ? (command as (state: S) => C)(view.state) : command;
      const decision = decider.decide(cmd, view.state);
      if (E.isLeft(decision)) return decision;
      const events = decision.right;
      if (events.length === 0) return E.right({ events, state: view.state, revision: view.revision });
      if (!decidedOnce) {
        decidedOnce = true;
        options.onDecided?.();
      }
      const first = view.revision === 'no_stream' ? 0 : view.revision + 1;
      const { sealed, lastHash } = sealEvents(name, first, view.lastHash, events, clock.now(), correlationId);
      const appended = await store.appendToStream(name, sealed, view.revision)();
      if (E.isRight(appended)) {
        let state = view.state;
        for (const event of events) state = decider.evolve(state, event);
        const next: StreamView<S> = { state, revision: appended.right.nextExpectedRevision, lastHash };
        remember(name, next);
        return E.right({ events, state, revision: next.revision });
      }
      if (attemptNo >= maxAttempts) throw new ConcurrencyExhausted(name, attemptNo);
      // Someone else wrote to this stream: read what they wrote and decide again.
      const backoff = baseBackoffMs * 2 ** Math.min(attemptNo - 1, 6);
      await clock.sleep(Math.floor(ids.random() * backoff));
      view = await catchUp(name);
    }
  };

  return {
    handle: (name, command, options = {}) => serialized(name, () => attempt(name, command, options)),
    load: (name) => serialized(name, () => catchUp(name)),
    forget: (name) => {
      cache.delete(name);
    },
  };
};
