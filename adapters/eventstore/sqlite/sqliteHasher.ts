import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { makeHashKernel } from '../../../application/hashKernel.js';
import type { ReadAllOptions } from '../../../application/ports/eventStore.js';
import type { HashedRange, HashedReads } from '../../../application/ports/hashedReads.js';
import type { makeLiveFeed } from '../shared/liveFeed.js';
import { READ_ALL_PAGE_SQL } from './sqliteSchema.js';
import { sqliteHasherMain, type FromHasher, type HasherConfig, type ToHasher } from './sqliteHasherThread.js';
import { makeRespawningChannel } from './threadChannel.js';

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
 * Two threads, each started only if used: the audit's (`hashRange`, the work
 * the auditor is waiting for) runs at the process's priority; the ledger log
 * follower's (`subscribeToLeafHashes`) runs at `followerNice` (19 by default,
 * Linux only), so that when appends and the follower compete for the CPU the
 * scheduler gives it to the appends and the follower catches up in the idle
 * time after. The log then lags a burst instead of slowing it; nothing waits
 * for its leaves (receipts hash their own event, checkpoints are made when
 * the follower gets there).
 */
export type SqliteHashedReadsOptions = {
  /** Nice value of the ledger log follower's hashing thread; 0 keeps the process's. Default 19. */
  readonly followerNice?: number;
};

export const FOLLOWER_NICE = 19;
export type SqliteHashedReads = HashedReads & { readonly close: () => Promise<void> };

const workerSource = () => `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const kernel = (${makeHashKernel.toString()})(require('node:crypto'));
const os = require('node:os');
const priority = { platform: process.platform, setPriority: (p) => os.setPriority(p), getPriority: () => os.getPriority() };
(${sqliteHasherMain.toString()})(Database, kernel, workerData.config, parentPort, priority);
`;

const hashError = (message: string, code: string | undefined): Error =>
  Object.assign(new Error(`sqlite hashing thread: ${message}`), code === undefined ? {} : { code });

const spawnHasher = (config: HasherConfig): Promise<Worker> => {
  const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerSource(), { eval: true, workerData: { betterSqlite3, config }, execArgv: [] });
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


type Feed = ReturnType<typeof makeLiveFeed>;

export const makeSqliteHashedReads = (path: string, pragmas: readonly string[], feed: Feed, options: SqliteHashedReadsOptions = {}): SqliteHashedReads => {
  // Each started on first use; a hashing thread that dies is replaced on the next request.
  const channelAt = (nice: number, name: string) =>
    makeRespawningChannel<ToHasher, FromHasher>(() => spawnHasher({ path, pragmas, pageSql: READ_ALL_PAGE_SQL, nice }), name);
  const foreground = channelAt(0, 'sqlite hashing thread');
  const background = channelAt(options.followerNice ?? FOLLOWER_NICE, 'sqlite hashing thread (ledger log)');
  let closed = false;

  const hashWith = (channel: typeof foreground): HashedReads['hashRange'] => async (after, maxCount, withChain) => {
    if (closed) throw new Error('sqlite event store is closed');
    const reply = await channel.exchange({ kind: 'hash', after, maxCount, withChain });
    if (reply.kind === 'failed') throw hashError(reply.message, reply.code);
    if (reply.kind !== 'hashed') throw hashError(`unexpected reply ${reply.kind}`, undefined);
    return { positions: reply.positions, leafHashes: reply.leafHashes, ...(reply.chainHashes === undefined ? {} : { chainHashes: reply.chainHashes }) };
  };

  const hashRange = hashWith(foreground);
  const followerHashRange = hashWith(background);

  // The live feed pages through "items with a position": here one item is a whole range, positioned at its last event.
  async function* ranges(read: ReadAllOptions): AsyncIterable<HashedRange & { readonly position: number; readonly covers: number }> {
    const range = await followerHashRange(read.after ?? -1, read.maxCount ?? 1000, false);
    const n = range.positions.length;
    if (n > 0) yield { ...range, position: range.positions[n - 1] as number, covers: n };
  }

  return {
    hashRange,
    subscribeToLeafHashes: (handler, options = {}) => feed.subscribe(ranges, handler, options),
    close: async () => {
      closed = true;
      await Promise.all([foreground.close(), background.close()]);
    },
  };
};
