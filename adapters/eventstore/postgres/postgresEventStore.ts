import pg from 'pg';
import type {
  EventMetadata,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
} from '../../../application/ports/eventStore.js';
import { makeLiveFeed } from '../shared/liveFeed.js';
import { makePostgresAppender, type PostgresAppendHooks, type PostgresWriterStats } from './postgresAppender.js';
import { ensureSchema, postgresSql, type PostgresSql } from './postgresSchema.js';

/**
 * The PostgreSQL store (`pg` Pool). Tables live in `schema`, created if
 * missing. Appends: group commit, one transaction per batch, global order
 * kept gap-free by an advisory lock (postgresSchema.ts explains why).
 * Reads: keyset pages of `pageSize` rows. Subscriptions poll every
 * `pollIntervalMs`; appends by this store wake them at once, and a LISTEN
 * connection wakes them early for appends made by other processes (it is
 * only a shortcut: if it fails, polling still delivers everything).
 */
export type PostgresEventStoreOptions = {
  readonly connectionString: string;
  readonly schema: string;
  /** Default 100. */
  readonly pollIntervalMs?: number;
  /** Rows per read query. Default 1000. */
  readonly pageSize?: number;
  /** Pool size. Default 10. */
  readonly maxConnections?: number;
  readonly hooks?: PostgresAppendHooks;
};

export type PostgresEventStore = EventStore & {
  readonly stats: () => PostgresWriterStats;
};

type EventRow = {
  readonly position: string;
  readonly stream_name: string;
  readonly revision: string;
  readonly type: string;
  readonly data: RecordedEvent['data'];
  readonly metadata: EventMetadata;
  readonly committed_at: string;
};

const toRecorded = (row: EventRow): RecordedEvent => ({
  position: Number(row.position),
  streamName: row.stream_name,
  revision: Number(row.revision),
  type: row.type,
  data: row.data,
  metadata: row.metadata,
  committedAt: Number(row.committed_at),
});

/** Wakes the feed on NOTIFY from any process; gives up quietly on error (polling remains). */
const makeListener = (connectionString: string, sql: PostgresSql, wake: () => void) => {
  let client: pg.Client | undefined;
  const start = () => {
    if (client !== undefined) return;
    const listener = new pg.Client({ connectionString });
    client = listener;
    listener.on('notification', wake);
    listener.on('error', () => void stop());
    listener
      .connect()
      .then(() => listener.query(`LISTEN ${sql.channel}`))
      .catch(() => void stop());
  };
  const stop = async () => {
    const current = client;
    client = undefined;
    await current?.end().catch(() => undefined);
  };
  return { start, stop };
};

/** Keyset pages of `pageSize` rows, each page one query on any pooled connection. */
const makeReaders = (pool: pg.Pool, sql: PostgresSql, pageSize: number) => {
  async function* readStream(name: string, readOptions: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    let from = readOptions.fromRevision ?? 0;
    let remaining = readOptions.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const limit = Math.min(pageSize, remaining);
      const { rows } = await pool.query<EventRow>({ ...sql.streamPage, values: [name, from, limit] });
      for (const row of rows) yield toRecorded(row);
      if (rows.length < limit) return;
      from = Number((rows[rows.length - 1] as EventRow).revision) + 1;
      remaining -= rows.length;
    }
  }

  async function* readAll(readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    let after = readOptions.after ?? -1;
    let remaining = readOptions.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const limit = Math.min(pageSize, remaining);
      const { rows } = await pool.query<EventRow>({ ...sql.allPage, values: [after, limit] });
      for (const row of rows) yield toRecorded(row);
      if (rows.length < limit) return;
      after = Number((rows[rows.length - 1] as EventRow).position);
      remaining -= rows.length;
    }
  }

  return { readStream, readAll };
};

export const makePostgresEventStore = async (options: PostgresEventStoreOptions): Promise<PostgresEventStore> => {
  const sql = postgresSql(options.schema);
  const pageSize = options.pageSize ?? 1000;
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10 });
  // An idle client that loses its connection emits here; the pool replaces it.
  pool.on('error', () => undefined);
  // A checked-out client has no 'error' listener of the pool's: without one, a server shutdown mid-query
  // (57P01, found by the many-writer simulation) is an uncaught 'error' event that ends the process.
  // The query itself still rejects, and its caller retries or answers 503.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await ensureSchema(pool, sql);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const appender = makePostgresAppender(pool, sql, options.hooks);
  const feed = makeLiveFeed(options.pollIntervalMs ?? 100);
  const listener = makeListener(options.connectionString, sql, feed.notify);

  const { readStream, readAll } = makeReaders(pool, sql, pageSize);

  const appendToStream: EventStore['appendToStream'] = (name, events, expected) => async () => {
    const outcome = await appender.append(name, events, expected);
    if (outcome._tag === 'Right' && events.length > 0) feed.notify();
    return outcome;
  };

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await feed.closeAll();
    await listener.stop();
    await appender.drain();
    await pool.end();
  };

  return {
    kind: 'postgres',
    readStream,
    appendToStream,
    readAll,
    subscribeToAll: (handler, subscribeOptions = {}) => {
      listener.start();
      return feed.subscribe(readAll, handler, subscribeOptions);
    },
    close,
    stats: appender.stats,
  };
};
