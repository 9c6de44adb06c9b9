import type { Logger } from '../ports/clock.js';
import type { EventStore, RecordedEvent, Subscription } from '../ports/eventStore.js';
import type { UsageBatch } from './usage.js';
import { foldUsage, refsNeeded } from './usage.js';
import type { UsageReadModel } from './usageReadModel.js';
import { CheckpointMoved, NO_POSITION } from './usageReadModel.js';

/**
 * The catch-up runner: reads the global order in pages from the stored
 * checkpoint, folds each page and commits it with the new checkpoint, then
 * follows live appends through the store's subscription, batching what
 * arrives. Stopping between batches loses only uncommitted work, which the
 * next start reads again from the checkpoint: nothing is counted twice.
 */
export type ProjectionStatus = {
  readonly running: boolean;
  /** Position committed in the read model. */
  readonly position: number;
  /** Highest position this process has seen in the store (read or appended). */
  readonly head: number;
  readonly lagEvents: number;
  /** Age of the oldest event seen but not yet committed, ms (0 when caught up). */
  readonly lagMs: number;
  readonly lastCommitAtMs: number | undefined;
  readonly consecutiveFailures: number;
};

export type ProjectionRunnerDeps = {
  readonly store: EventStore;
  readonly model: UsageReadModel;
  readonly logger: Logger;
  readonly now: () => number;
  readonly batchSize?: number;
  /** How long live events wait for company before a batch is committed. */
  readonly flushMs?: number;
  /** Called after each committed batch with its events (metrics derive money counters from them). */
  readonly onCommitted?: (batch: UsageBatch, events: readonly RecordedEvent[]) => void;
};

/** Folds and commits one batch; returns it (its position is the new checkpoint). */
export const commitBatch = async (model: UsageReadModel, events: readonly RecordedEvent[], after: number): Promise<UsageBatch> => {
  const known = await model.refs(refsNeeded(events));
  const batch = foldUsage(events, known, after);
  await model.commit(batch, after);
  return batch;
};

export const applyBatch = async (model: UsageReadModel, events: readonly RecordedEvent[], after: number): Promise<number> =>
  events.length === 0 ? after : (await commitBatch(model, events, after)).position;

/** Replays from `after` to the end of the store in pages; returns the last committed position. */
export const catchUp = async (
  store: EventStore,
  model: UsageReadModel,
  after: number,
  options: { readonly batchSize: number; readonly onBatch?: (batch: UsageBatch, events: readonly RecordedEvent[]) => void; readonly shouldStop?: () => boolean },
): Promise<number> => {
  let position = after;
  for (;;) {
    if (options.shouldStop?.() === true) return position;
    const page: RecordedEvent[] = [];
    for await (const event of store.readAll({ ...(position === NO_POSITION ? {} : { after: position }), maxCount: options.batchSize })) page.push(event);
    if (page.length === 0) return position;
    const batch = await commitBatch(model, page, position);
    position = batch.position;
    options.onBatch?.(batch, page);
  }
};

/**
 * catchUp beside other writers of the same read model (other instances' runners, a rebuild):
 * when one of them commits first, its work stands and the replay goes on from the checkpoint
 * it left. Each refusal means another writer moved forward, so this ends once the store is
 * read to its end.
 */
export const catchUpAlongside = async (
  store: EventStore,
  model: UsageReadModel,
  after: number,
  options: Parameters<typeof catchUp>[3],
): Promise<number> => {
  let position = after;
  for (;;) {
    try {
      return await catchUp(store, model, position, options);
    } catch (error) {
      if (!(error instanceof CheckpointMoved)) throw error;
      position = await model.checkpoint();
    }
  }
};

export const makeProjectionRunner = (deps: ProjectionRunnerDeps) => {
  const batchSize = deps.batchSize ?? 500;
  const flushMs = deps.flushMs ?? 20;
  let position = NO_POSITION;
  let head = NO_POSITION;
  let running = false;
  let subscription: Subscription | undefined;
  let buffer: RecordedEvent[] = [];
  let chain: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastCommitAtMs: number | undefined;
  let consecutiveFailures = 0;
  // The live subscription: the last event it delivered, and how often in a row it has ended in an error.
  let delivered = NO_POSITION;
  let subscriptionFailures = 0;
  let resubscribe: ReturnType<typeof setTimeout> | undefined;

  const committed = (batch: UsageBatch, events: readonly RecordedEvent[]) => {
    position = batch.position;
    lastCommitAtMs = deps.now();
    consecutiveFailures = 0;
    deps.onCommitted?.(batch, events);
  };

  const flush = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    chain = chain.then(async () => {
      // What another writer committed meanwhile is not this runner's to commit again.
      const events = buffer.filter((e) => e.position > position);
      buffer = [];
      if (events.length === 0 || !running) return;
      try {
        committed(await commitBatch(deps.model, events, position), events);
      } catch (error) {
        buffer = [...events, ...buffer];
        if (error instanceof CheckpointMoved) {
          await resync(error);
          return;
        }
        consecutiveFailures += 1;
        // The checkpoint did not move: the events stay buffered and the next flush retries them in order.
        deps.logger.error({ err: (error as Error).message, failures: consecutiveFailures }, 'usage projection batch failed');
        if (running) timer = setTimeout(() => void flush(), Math.min(30_000, 100 * 2 ** consecutiveFailures));
      }
    });
    return chain;
  };

  /**
   * Another writer moved the checkpoint: another instance of the service committed the same
   * events first (normal with several instances on one store), or `ledger projections rebuild`
   * reset it and replayed. Neither is a failure. The read model is the truth: continue from its
   * checkpoint, reading from the store what lies between it and this runner's buffer (a rebuild
   * that ended before the events this runner holds would otherwise leave a hole nobody fills).
   */
  const resync = async (moved: CheckpointMoved) => {
    deps.logger.debug({ err: moved.message }, 'usage checkpoint moved by another writer; catching up from it');
    try {
      position = await catchUpAlongside(deps.store, deps.model, await deps.model.checkpoint(), {
        batchSize,
        onBatch: (batch, events) => {
          head = Math.max(head, batch.position);
          committed(batch, events);
        },
        shouldStop: () => !running,
      });
      buffer = buffer.filter((e) => e.position > position);
    } catch (error) {
      // The store or the read model failed: try again after a pause, from the checkpoint then.
      consecutiveFailures += 1;
      deps.logger.error({ err: (error as Error).message, failures: consecutiveFailures }, 'usage projection catch-up failed');
      position = await deps.model.checkpoint().catch(() => position);
    }
    if (running && buffer.length > 0) timer = setTimeout(() => void flush(), consecutiveFailures === 0 ? 0 : Math.min(30_000, 100 * 2 ** consecutiveFailures));
  };

  const onLive = async (event: RecordedEvent) => {
    delivered = Math.max(delivered, event.position);
    if (event.position <= position) return;
    head = Math.max(head, event.position);
    buffer.push(event);
    if (buffer.length >= batchSize) await flush();
    else timer ??= setTimeout(() => void flush(), flushMs);
  };

  /**
   * Follows the live order after what it already holds (committed or
   * buffered). A store outage ends the subscription with an error: it is
   * logged and counted in the status, and a new one starts after a capped
   * backoff, so the projection never stops for good while the service runs.
   */
  const follow = (): Subscription => {
    let ended = false;
    const after = Math.max(position, delivered);
    const current = deps.store.subscribeToAll(onLive, {
      ...(after === NO_POSITION ? {} : { after }),
      onError: (error) => {
        ended = true;
        subscriptionFailures += 1;
        deps.logger.error({ err: (error as Error).message, failures: subscriptionFailures }, 'usage projection subscription ended; following again after a pause');
        if (!running) return;
        resubscribe = setTimeout(() => {
          resubscribe = undefined;
          if (running) follow();
        }, Math.min(30_000, 250 * 2 ** Math.min(subscriptionFailures - 1, 7)));
        resubscribe.unref?.();
      },
    });
    subscription = current;
    void current.caughtUp.then(() => {
      if (!ended) subscriptionFailures = 0;
    });
    return current;
  };

  return {
    start: async () => {
      running = true;
      delivered = NO_POSITION;
      position = await deps.model.checkpoint();
      position = await catchUp(deps.store, deps.model, position, {
        batchSize,
        onBatch: (batch, events) => {
          head = Math.max(head, batch.position);
          committed(batch, events);
        },
        shouldStop: () => !running,
      });
      if (!running) return;
      await follow().caughtUp;
    },
    /** Stops following; a batch being committed finishes, buffered events are left for the next start. */
    stop: async () => {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (resubscribe !== undefined) clearTimeout(resubscribe);
      resubscribe = undefined;
      await subscription?.stop();
      subscription = undefined;
      // A flush never rejects the chain (failures are logged and retried), but stopping must not depend on it.
      await chain.catch(() => undefined);
      buffer = [];
    },
    /** Commits whatever is buffered now (tests and shutdown). */
    flush,
    /** Tells the runner about a position appended elsewhere in this process, so lag is known before delivery. */
    observeHead: (at: number) => {
      head = Math.max(head, at);
    },
    status: (): ProjectionStatus => {
      const oldest = buffer[0];
      return {
        running,
        position,
        head: Math.max(head, position),
        lagEvents: Math.max(0, head - position),
        lagMs: oldest === undefined ? 0 : Math.max(0, deps.now() - oldest.metadata.recordedAt),
        lastCommitAtMs,
        consecutiveFailures: consecutiveFailures + subscriptionFailures,
      };
    },
  };
};

export type ProjectionRunner = ReturnType<typeof makeProjectionRunner>;
