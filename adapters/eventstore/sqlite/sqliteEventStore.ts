import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  EventStore,
  EventMetadata,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
} from '../../../application/ports/eventStore.js';
import type { HashedReads } from '../../../application/ports/hashedReads.js';
import { makeLiveFeed } from '../shared/liveFeed.js';
import { makeSqliteHashedReads } from './sqliteHasher.js';
import { connectionPragmas, openDatabase, READ_ALL_PAGE_SQL, type Synchronous } from './sqliteSchema.js';
import { startSqliteWriter, type WriterStats } from './sqliteWriter.js';

/**
 * The embedded default store: one SQLite file in WAL mode.
 *
 * Writes go through group commit to a writer thread (sqliteWriter.ts): appends
 * that arrive together share one BEGIN IMMEDIATE ... COMMIT, each is checked
 * against its expected revision inside that transaction, and each caller is
 * answered only after COMMIT returned. Because the check runs under SQLite's
 * write lock, optimistic concurrency also holds between processes sharing the
 * file (two gateways, or the CLI beside the server).
 *
 * Reads use a separate connection on the calling thread, in pages of
 * `pageSize` rows, so a 100k-event stream is never loaded at once.
 *
 * Subscriptions: appends made through this store wake its subscribers at once;
 * appends made by another process on the same file are noticed within
 * `pollIntervalMs` (100 ms by default): one timer asks SQLite whether any
 * other connection committed since (`PRAGMA data_version`, a counter read,
 * no query of the log) and wakes the subscribers only if one did, so an idle
 * store costs almost nothing and no subscriber polls the log on its own.
 */
export type SqliteEventStoreOptions = {
  readonly path: string;
  /** FULL (default): an acknowledged append survives power loss. NORMAL: survives a process crash only. */
  readonly synchronous?: Synchronous;
  /** How long a writer waits for another process's write lock before failing the batch. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** How often subscribers look for appends made by other processes. Default 100. */
  readonly pollIntervalMs?: number;
  /** Rows per read query. Default 1000. */
  readonly pageSize?: number;
  /** Nice value of the ledger log follower's hashing thread (Linux); 0 keeps the process's. Default 19 (sqliteHasher.ts). */
  readonly followerNice?: number;
};

export type SqliteEventStore = EventStore & {
  /** Counters for tests and /stats: transactions < appends means group commit is batching. */
  readonly stats: () => WriterStats;
  /** Leaf and chain hashes computed by a hashing thread (sqliteHasher.ts), for the audit and the ledger log. */
  readonly hashedReads: HashedReads;
};

type EventRow = [position: number, streamName: string, revision: number, type: string, data: string, metadata: string, committedAt: number];

const toRecorded = (row: EventRow): RecordedEvent => ({
  position: row[0],
  streamName: row[1],
  revision: row[2],
  type: row[3],
  data: JSON.parse(row[4]) as RecordedEvent['data'],
  metadata: JSON.parse(row[5]) as EventMetadata,
  committedAt: row[6],
});

/** Paged reads on the calling thread's own connection (WAL lets them run beside the writer). */
const makeReaders = (reader: BetterSqlite3.Database, pageSize: number) => {
  const streamId = reader.prepare('SELECT stream_id FROM streams WHERE stream_name = ?').pluck();
  const streamPage = reader
    .prepare(
      `SELECT position, ? AS stream_name, revision, type, data, metadata, committed_at FROM events
       WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
    )
    .raw();
  const allPage = reader.prepare(READ_ALL_PAGE_SQL).raw();

  async function* readStream(name: string, readOptions: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const id = streamId.get(name) as number | undefined;
    if (id === undefined) return;
    let from = readOptions.fromRevision ?? 0;
    let remaining = readOptions.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const limit = Math.min(pageSize, remaining);
      const rows = streamPage.all(name, id, from, limit) as EventRow[];
      for (const row of rows) yield toRecorded(row);
      if (rows.length < limit) return;
      from = (rows[rows.length - 1] as EventRow)[2] + 1;
      remaining -= rows.length;
    }
  }

  async function* readAll(readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    let after = readOptions.after ?? -1;
    let remaining = readOptions.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const limit = Math.min(pageSize, remaining);
      const rows = allPage.all(after, limit) as EventRow[];
      for (const row of rows) yield toRecorded(row);
      if (rows.length < limit) return;
      after = (rows[rows.length - 1] as EventRow)[0];
      remaining -= rows.length;
    }
  }

  return { readStream, readAll };
};

export const makeSqliteEventStore = async (options: SqliteEventStoreOptions): Promise<SqliteEventStore> => {
  const synchronous = options.synchronous ?? 'FULL';
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const pageSize = options.pageSize ?? 1000;
  mkdirSync(dirname(options.path), { recursive: true });
  const reader = openDatabase(Database, options.path, synchronous, busyTimeoutMs);
  let writer;
  try {
    writer = await startSqliteWriter(options.path, connectionPragmas(synchronous, busyTimeoutMs));
  } catch (error) {
    reader.close();
    throw error;
  }
  const feed = makeLiveFeed();
  // Kept for the store's life: a collected Statement can abort Node 24 (see sqliteSchema.ts).
  const dataVersion = reader.prepare('PRAGMA data_version').pluck();
  let seenVersion = dataVersion.get();
  const foreignCommits = setInterval(() => {
    let version: unknown;
    try {
      version = dataVersion.get();
    } catch {
      // The file cannot be read now (I/O error, busy recovery): a timer must not throw. Wake the
      // subscribers anyway; their reads meet the same error and report it through their own paths.
      feed.notify();
      return;
    }
    if (version === seenVersion) return;
    seenVersion = version;
    feed.notify();
  }, options.pollIntervalMs ?? 100);
  foreignCommits.unref();
  const hashedReads = makeSqliteHashedReads(
    options.path,
    [`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`],
    feed,
    options.followerNice === undefined ? {} : { followerNice: options.followerNice },
  );

  const { readStream, readAll } = makeReaders(reader, pageSize);

  const appendToStream: EventStore['appendToStream'] = (name, events, expected) => async () => {
    const outcome = await writer.append(name, events, expected);
    if (outcome._tag === 'Right' && events.length > 0) {
      // Our writer thread is another connection to this reader, so its commit moves data_version too.
      // The wake-up below covers it (and any foreign commit before it: the subscribers read after
      // this point), so the timer need not wake them again for it.
      try {
        seenVersion = dataVersion.get();
      } catch {
        // Left as it was: the timer will wake the subscribers once more, which is harmless.
      }
      feed.notify();
    }
    return outcome;
  };

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(foreignCommits);
    await feed.closeAll();
    await hashedReads.close();
    await writer.close();
    reader.close();
  };

  return {
    kind: 'sqlite',
    readStream,
    appendToStream,
    readAll,
    subscribeToAll: (handler, subscribeOptions = {}) => feed.subscribe(readAll, handler, subscribeOptions),
    close,
    stats: writer.stats,
    hashedReads: { hashRange: hashedReads.hashRange, subscribeToLeafHashes: hashedReads.subscribeToLeafHashes },
  };
};
