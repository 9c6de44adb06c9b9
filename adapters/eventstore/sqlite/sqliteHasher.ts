import { createRequire } from 'node:module';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { makeHashKernel } from '../../../application/hashKernel.js';
import type { ReadAllOptions } from '../../../application/ports/eventStore.js';
import type { HashedRange, HashedReads } from '../../../application/ports/hashedReads.js';
import type { SubscribeOptions, Subscription } from '../../../application/ports/eventStore.js';
import type { makeLiveFeed } from '../shared/liveFeed.js';
import { hashCommittedRows, type CommittedLeaves } from './committedLeaves.js';
import { makeLeafQueue, type LeafQueue } from './leafQueue.js';
import { READ_ALL_PAGE_SQL } from './sqliteSchema.js';
import { sqliteHasherMain, type FromHasher, type HasherConfig, type ToHasher } from './sqliteHasherThread.js';
import { makeThreadChannel } from './threadChannel.js';
import type { LeafSink } from './sqliteWriter.js';

/**
 * `HashedReads` for SQLite: one worker thread with its own read-only
 * connection reads pages of the global order and hashes them (see
 * sqliteHasherThread.ts), so the audit and the ledger log follower spend
 * this thread's time on the tree and the money rules only.
 *
 * The thread is started from source text, like the writer thread, so it
 * runs the same under jest, the swc loader and dist/. It is started on first
 * use, referenced only while it holds work (an idle store must not keep the
 * process alive), and stopped by `close`.
 *
 * Leaves at commit (the store's `leaves` option other than `read`): given
 * the store's writer (`commitLeaves`), a leaf subscriber gets this process's
 * appends hashed from the rows the writer committed, by the writer thread
 * (before or after it answers) or by this hashing thread, to which the
 * writer forwards the rows over a port between the two threads
 * (`rowsPort`); and it reads only what the writer did not give it: the
 * history before it subscribed, other processes' appends (a gap between
 * what it has and what the writer gave), and any range the writer could not
 * hash or the queue could not hold. Reads and queued leaves are merged by
 * position (leafQueue.ts), so the subscriber sees the global order once,
 * without gap or duplicate. Leaves that arrive after the callers were
 * answered (`late`) wake the subscribers themselves. With nothing queued, a
 * woken subscriber reads at most every half poll interval, not at every
 * local append; when it skips a read it looks again once that time is over,
 * which is how an append by another process that no later local append
 * reveals is found (the store's `PRAGMA data_version` timer wakes it).
 */
export type LeafStats = {
  /** Leaves delivered to subscribers from the writer thread. */
  readonly fromCommit: number;
  /** Leaves delivered to subscribers after a read by the hashing thread. */
  readonly fromReads: number;
};

export type SqliteHashedReads = HashedReads & { readonly close: () => Promise<void>; readonly leafStats: () => LeafStats };

export type CommitLeaves = {
  readonly setLeafSink: (sink: LeafSink | undefined) => void;
  readonly pollIntervalMs: number;
  /** Leaves arrive after the answer to their appends, so their arrival must wake the subscribers. */
  readonly late: boolean;
  /** Committed rows from the writer thread, for this hashing thread to hash (the store's `forwarded` leaves). */
  readonly rowsPort: MessagePort | undefined;
};

/** Leaves a subscriber's queue may hold: about 4 MB. */
const QUEUE_LEAVES_MAX = 100_000;

const workerSource = () => `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const kernel = (${makeHashKernel.toString()})(require('node:crypto'));
const hashRows = (${hashCommittedRows.toString()});
(${sqliteHasherMain.toString()})(Database, kernel, hashRows, workerData.config, parentPort, workerData.forwarded);
`;

const hashError = (message: string, code: string | undefined): Error =>
  Object.assign(new Error(`sqlite hashing thread: ${message}`), code === undefined ? {} : { code });

/** Starts the thread; with `rowsPort`, the thread hashes the rows arriving there and sends their leaves to `onLeaves`. */
const spawnHasher = (config: HasherConfig, rowsPort: MessagePort | undefined, onLeaves: (leaves: CommittedLeaves) => void): Promise<Worker> => {
  const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
  const back = rowsPort === undefined ? undefined : new MessageChannel();
  const forwarded = rowsPort === undefined || back === undefined ? undefined : { rows: rowsPort, leaves: back.port2 };
  const worker = new Worker(workerSource(), {
    eval: true,
    workerData: { betterSqlite3, config, forwarded },
    transferList: forwarded === undefined ? [] : [forwarded.rows, forwarded.leaves],
    execArgv: [],
  });
  if (back !== undefined) {
    back.port1.on('message', onLeaves);
    // Listening must not keep an idle process alive; the port closes with the thread.
    back.port1.unref();
    worker.once('exit', () => back.port1.close());
  }
  return new Promise<Worker>((resolve, reject) => {
    const onError = (error: unknown) => reject(error);
    const onExit = (code: number) => reject(new Error(`sqlite hashing thread exited (code ${code}) while opening ${config.path}`));
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.once('message', (message: FromHasher) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (message.kind === 'ready') resolve(worker);
      else reject(hashError(`unexpected first message ${message.kind}`, undefined));
    });
  });
};

const makeChannel = (worker: Worker) => makeThreadChannel<ToHasher, FromHasher>(worker, 'sqlite hashing thread');

type Feed = ReturnType<typeof makeLiveFeed>;

/** A range as the live feed pages it, positioned at its last event, and where its leaves came from. */
type PositionedRange = HashedRange & { readonly position: number; readonly covers: number; readonly fromCommit: boolean };

const positioned = (range: HashedRange, fromCommit: boolean): PositionedRange => ({
  positions: range.positions,
  leafHashes: range.leafHashes,
  position: range.positions[range.positions.length - 1] as number,
  covers: range.positions.length,
  fromCommit,
});

export const makeSqliteHashedReads = (path: string, pragmas: readonly string[], feed: Feed, commitLeaves?: CommitLeaves): SqliteHashedReads => {
  let channel: Promise<ReturnType<typeof makeChannel>> | undefined;
  let closed = false;
  const queues = new Set<LeafQueue>();
  const counts = { fromCommit: 0, fromReads: 0 };
  const open = () =>
    (channel ??= spawnHasher({ path, pragmas, pageSql: READ_ALL_PAGE_SQL }, commitLeaves?.rowsPort, (leaves) => {
      if (queues.size > 0) sink(leaves);
    }).then(makeChannel));

  const hashRange: HashedReads['hashRange'] = async (after, maxCount, withChain) => {
    if (closed) throw new Error('sqlite event store is closed');
    const reply = await (await open()).exchange({ kind: 'hash', after, maxCount, withChain });
    if (reply.kind === 'failed') throw hashError(reply.message, reply.code);
    if (reply.kind !== 'hashed') throw hashError(`unexpected reply ${reply.kind}`, undefined);
    return { positions: reply.positions, leafHashes: reply.leafHashes, ...(reply.chainHashes === undefined ? {} : { chainHashes: reply.chainHashes }) };
  };

  // The live feed pages through "items with a position": here one item is a whole range, positioned at its last event.
  async function* ranges(options: ReadAllOptions): AsyncIterable<PositionedRange> {
    const range = await hashRange(options.after ?? -1, options.maxCount ?? 1000, false);
    if (range.positions.length > 0) yield positioned(range, false);
  }

  const sink: LeafSink = (leaves) => {
    for (const queue of queues) queue.push(leaves);
    if (commitLeaves?.late === true) feed.notify();
  };
  const attach = () => commitLeaves?.setLeafSink(queues.size > 0 ? sink : undefined);

  // A subscriber that skipped a read (below) looks again once its quiet time is over, in case what woke it was
  // another process's commit. One timer, armed only by a skip: an idle store has none and makes no read.
  let recheck: ReturnType<typeof setTimeout> | undefined;
  const lookAgainIn = (ms: number) => {
    if (recheck !== undefined || closed) return;
    recheck = setTimeout(() => {
      recheck = undefined;
      feed.notify();
    }, Math.max(1, Math.ceil(ms)));
    recheck.unref();
  };

  // One subscriber's pages: queued leaves where they continue its order, reads for the rest.
  const mergedRanges = (queue: LeafQueue, quietMs: number) => {
    // When a read last found the end of the log: until quietMs later, an empty queue means nothing new but our own appends in flight.
    let endSeenAt = Number.NEGATIVE_INFINITY;
    return async function* (options: ReadAllOptions): AsyncIterable<PositionedRange> {
      let after = options.after ?? -1;
      let budget = options.maxCount ?? 1000;
      while (budget > 0) {
        let answer = queue.next(after, budget);
        let range: HashedRange;
        let fromCommit = true;
        if (answer.kind === 'leaves') {
          range = answer.range;
        } else {
          const quietLeftMs = endSeenAt + quietMs - performance.now();
          if (answer.kind === 'empty' && quietLeftMs > 0) {
            lookAgainIn(quietLeftMs);
            return;
          }
          const count = answer.kind === 'gap' ? Math.min(budget, answer.before - after - 1) : budget;
          const readAt = performance.now();
          range = await hashRange(after, count, false);
          if (answer.kind === 'empty' && range.positions.length < count) endSeenAt = readAt;
          fromCommit = range.positions.length === 0;
          if (fromCommit) {
            if (answer.kind === 'empty') return;
            // The gap's positions are not in the file (rows removed by hand): what is queued comes next.
            answer = queue.next(after, budget, true);
            if (answer.kind !== 'leaves') return;
            range = answer.range;
          }
        }
        const page = positioned(range, fromCommit);
        yield page;
        after = page.position;
        budget -= range.positions.length;
      }
    };
  };

  type Handler = (range: HashedRange) => Promise<void> | void;

  // Counted once handed over, so a range dropped by a stop is not counted.
  const counted = (handler: Handler) => (range: PositionedRange) => {
    if (range.fromCommit) counts.fromCommit += range.positions.length;
    else counts.fromReads += range.positions.length;
    return handler(range);
  };

  const subscribeMerged = (commit: CommitLeaves, handler: Handler, options: SubscribeOptions): Subscription => {
    const queue = makeLeafQueue(QUEUE_LEAVES_MAX);
    queues.add(queue);
    attach();
    const release = () => {
      if (queues.delete(queue)) attach();
      queue.clear();
    };
    const onError = (error: unknown) => {
      release();
      options.onError?.(error);
    };
    const subscription = feed.subscribe(mergedRanges(queue, commit.pollIntervalMs / 2), counted(handler), { ...options, onError });
    return {
      caughtUp: subscription.caughtUp,
      stop: async () => {
        await subscription.stop();
        release();
      },
    };
  };

  return {
    hashRange,
    subscribeToLeafHashes: (handler, options = {}) =>
      commitLeaves === undefined ? feed.subscribe(ranges, counted(handler), options) : subscribeMerged(commitLeaves, handler, options),
    leafStats: () => ({ ...counts }),
    close: async () => {
      closed = true;
      clearTimeout(recheck);
      queues.clear();
      attach();
      if (channel !== undefined) await (await channel.catch(() => undefined))?.close();
    },
  };
};
