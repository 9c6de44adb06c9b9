import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../domain/shared/decider.js';
import type { Clock, Ids } from './ports/clock.js';
import type { EventStore, ExpectedRevision, NewEvent, RecordedEvent } from './ports/eventStore.js';
import { sealInto } from './integrity.js';

/**
 * Load, decide, append: the one way commands reach a stream.
 *
 * - Each stream's state is cached in memory with its revision and last hash,
 *   so a hot account is decided without any I/O and a long history is folded
 *   once per process, not once per command. Only the tail written since (by
 *   another process) is read, and only after a conflict proves it exists.
 * - Commands for the same stream are queued in this process, so concurrent
 *   requests on one account do not race each other into conflicts; the ones
 *   that queue up while an append is in flight are decided together and
 *   appended together (group commit for a hot account).
 * - A conflict with another process (WrongExpectedRevision) reloads the tail
 *   and decides again, a bounded number of times with jittered backoff.
 * - A refusal is only final on fresh state: before a batch that refused
 *   something (and wrote nothing) resolves, the store is read after the
 *   cached revision, and if another process wrote since, the batch is
 *   decided again. A write by the CLI or another instance is therefore seen
 *   by the very next command. Accepted commands pay nothing for this: their
 *   append's expected revision already proves the state was current.
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
  /** Most commands of one stream decided together and appended in one call. */
  readonly maxBatch?: number;
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
  /** The cached view without any I/O: at least as new as this process's own last append, maybe behind another's. */
  readonly cached: (streamName: string) => StreamView<S> | undefined;
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
  const maxBatch = deps.options?.maxBatch ?? 256;
  const cache = new Map<string, StreamView<S>>();

  // The stream remembered last: already the newest entry, so a hot stream is updated in place, not moved.
  let newest: string | undefined;
  const remember = (name: string, view: StreamView<S>) => {
    if (name === newest && cache.has(name)) {
      cache.set(name, view);
      return;
    }
    newest = name;
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

  type CommandJob = {
    readonly kind: 'command';
    readonly command: C | ((state: S) => C);
    readonly options: HandleOptions;
    decided: boolean;
    readonly resolve: (result: E.Either<Err, HandleResult<Ev, S>>) => void;
    readonly reject: (error: unknown) => void;
  };
  type LoadJob = { readonly kind: 'load'; readonly resolve: (view: StreamView<S>) => void; readonly reject: (error: unknown) => void };
  type Job = CommandJob | LoadJob;

  /** Pending jobs per stream; a stream has an entry exactly while its worker runs. */
  const lanes = new Map<string, Job[]>();

  const enqueue = (name: string, job: Job) => {
    const lane = lanes.get(name);
    if (lane !== undefined) {
      lane.push(job);
      return;
    }
    const fresh = [job];
    lanes.set(name, fresh);
    void drain(name, fresh);
  };

  /** Takes the next load job alone, or up to `maxBatch` consecutive command jobs. */
  const takeBatch = (lane: Job[]): Job[] => {
    if (lane[0]?.kind === 'load') return lane.splice(0, 1);
    // The common case on a quiet stream: one command, taken without copying.
    if (lane.length === 1) return [lane.pop() as Job];
    let n = 0;
    while (n < lane.length && n < maxBatch && lane[n]?.kind === 'command') n++;
    return lane.splice(0, n);
  };

  const drain = async (name: string, lane: Job[]) => {
    while (lane.length > 0) {
      const batch = takeBatch(lane);
      const head = batch[0] as Job;
      if (head.kind === 'load') {
        try {
          head.resolve(await catchUp(name));
        } catch (error) {
          head.reject(error);
        }
        continue;
      }
      try {
        await runBatch(name, batch as CommandJob[]);
      } catch (error) {
        for (const job of batch) job.reject(error);
      }
    }
    lanes.delete(name);
  };

  const settle = (jobs: readonly CommandJob[], outcomes: readonly E.Either<Err, HandleResult<Ev, S>>[]) => {
    for (let i = 0; i < jobs.length; i++) (jobs[i] as CommandJob).resolve(outcomes[i] as E.Either<Err, HandleResult<Ev, S>>);
  };

  /**
   * Decides every command of the batch in order, each against the state the
   * previous ones produced, and appends all their events in one call: on a
   * hot stream the commands that queued up during one append share the next
   * one (and so one transaction, one fsync). Deciding ahead evolves the cached
   * state in place, so when the append fails the cache is dropped and the
   * stream is folded again from the store before deciding anew.
   */
  const runBatch = async (name: string, jobs: readonly CommandJob[]) => {
    let view = cache.get(name) ?? (await catchUp(name));
    let refreshed = false;
    for (let attemptNo = 1; ; attemptNo++) {
      let state = view.state;
      let revision = view.revision;
      let prevHash = view.lastHash;
      const sealed: NewEvent[] = [];
      const outcomes: E.Either<Err, HandleResult<Ev, S>>[] = [];
      let refused = false;
      const now = clock.now();
      for (const job of jobs) {
        const cmd = typeof job.command === 'function' ? (job.command as (state: S) => C)(state) : job.command;
        const decision = decider.decide(cmd, state);
        if (E.isLeft(decision)) {
          outcomes.push(decision);
          refused = true;
          continue;
        }
        const events = decision.right;
        if (events.length > 0) {
          if (!job.decided) {
            job.decided = true;
            job.options.onDecided?.();
          }
          const first = revision === 'no_stream' ? 0 : revision + 1;
          prevHash = sealInto(sealed, name, first, prevHash, events, now, job.options.correlationId);
          revision = first + events.length - 1;
          for (const event of events) state = decider.evolve(state, event);
        }
        outcomes.push(E.right({ events, state, revision }));
      }
      if (sealed.length === 0) {
        // Nothing was evolved, so the cached state is intact and the tail can be folded onto it.
        if (!refreshed && refused) {
          refreshed = true;
          const fresh = await catchUp(name);
          if (fresh.revision !== view.revision) {
            view = fresh;
            attemptNo--;
            continue;
          }
        }
        settle(jobs, outcomes);
        return;
      }
      let appended;
      try {
        appended = await store.appendToStream(name, sealed, view.revision)();
      } catch (error) {
        cache.delete(name);
        throw error;
      }
      if (E.isRight(appended)) {
        remember(name, { state, revision: appended.right.nextExpectedRevision, lastHash: prevHash });
        settle(jobs, outcomes);
        return;
      }
      // Someone else wrote to this stream: fold again from the store, then decide again.
      cache.delete(name);
      if (attemptNo >= maxAttempts) throw new ConcurrencyExhausted(name, attemptNo);
      const backoff = baseBackoffMs * 2 ** Math.min(attemptNo - 1, 6);
      await clock.sleep(Math.floor(ids.random() * backoff));
      view = await catchUp(name);
    }
  };

  return {
    handle: (name, command, options = {}) =>
      new Promise((resolve, reject) => enqueue(name, { kind: 'command', command, options, decided: false, resolve, reject })),
    load: (name) => new Promise((resolve, reject) => enqueue(name, { kind: 'load', resolve, reject })),
    cached: (name) => cache.get(name),
    forget: (name) => {
      cache.delete(name);
    },
  };
};
