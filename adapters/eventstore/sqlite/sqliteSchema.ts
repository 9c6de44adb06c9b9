import type BetterSqlite3 from 'better-sqlite3';

/**
 * The SQLite layout. Streams get a small integer id so the events table and
 * its (stream, revision) index stay narrow: with text stream names in the
 * index, inserts measured about three times slower on this machine.
 *
 * - `events.position` is the rowid: the gapless global position, starting at
 *   0, assigned by the single writer inside its write transaction.
 * - A stream's last revision is read from the UNIQUE (stream_id, revision)
 *   index (max(revision) is one index seek) rather than kept in `streams`:
 *   updating a streams row per append dirtied one more random page per append
 *   for every commit to write and sync. The unique index is also the last
 *   line of defence for optimistic concurrency.
 * - `events.committed_at` (schema version 2) is the commit time in ms, taken
 *   by the writer inside its write transaction and never below the previous
 *   row's, so commit times follow the global order even when two processes'
 *   clocks disagree. Files of version 1 get the column on first open, filled
 *   from each event's recorded time (made non-decreasing along the order).
 * - data and metadata are JSON text written with JSON.stringify and read back
 *   with JSON.parse, so what comes back is what went in.
 */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS streams (
  stream_id   INTEGER PRIMARY KEY,
  stream_name TEXT    NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL REFERENCES streams (stream_id),
  revision INTEGER NOT NULL CHECK (revision >= 0),
  type     TEXT    NOT NULL,
  data     TEXT    NOT NULL,
  metadata TEXT    NOT NULL,
  committed_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE (stream_id, revision)
);`;

/** Version 1 -> 2: add committed_at and fill it with the running maximum of the recorded times. */
export const MIGRATE_V1_SQL = `
ALTER TABLE events ADD COLUMN committed_at INTEGER NOT NULL DEFAULT 0;
UPDATE events SET committed_at = m.c FROM (
  SELECT position AS p, max(coalesce(json_extract(metadata, '$.recordedAt'), 0)) OVER (ORDER BY position) AS c FROM events
) AS m WHERE events.position = m.p;`;

export type Synchronous = 'FULL' | 'NORMAL';

/**
 * Pragmas for every connection (reader and writer). busy_timeout comes first:
 * switching to WAL on a new file can meet another process doing the same.
 * With WAL, synchronous=FULL syncs the log at every commit (an acknowledged
 * append survives a power cut); NORMAL syncs only at checkpoints (it survives
 * a process crash, but the last commits may be lost on power loss).
 */
export const connectionPragmas = (synchronous: Synchronous, busyTimeoutMs: number): readonly string[] => [
  `busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`,
  'journal_mode = WAL',
  `synchronous = ${synchronous}`,
];

/** SQL used by the writer thread (it receives these strings as data; see sqliteWriterThread.ts). */
export const WRITER_SQL = {
  lastPosition: 'SELECT position, committed_at FROM events ORDER BY position DESC LIMIT 1',
  selectStream: `SELECT stream_id, (SELECT max(revision) FROM events WHERE stream_id = streams.stream_id)
    FROM streams WHERE stream_name = ?`,
  insertStream: 'INSERT INTO streams (stream_name) VALUES (?)',
  insertEvent: 'INSERT INTO events (position, stream_id, revision, type, data, metadata, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
} as const;

export type WriterSql = typeof WRITER_SQL;

/**
 * One page of the global order, for the store's reader and for the hashing
 * thread alike (so both see the same rows in the same order). CROSS JOIN
 * makes SQLite walk events by position and look streams up by id.
 */
export const READ_ALL_PAGE_SQL = `SELECT e.position, s.stream_name, e.revision, e.type, e.data, e.metadata, e.committed_at
       FROM events e CROSS JOIN streams s ON s.stream_id = e.stream_id
       WHERE e.position > ? ORDER BY e.position LIMIT ?`;

/**
 * better-sqlite3 12 on Node 24 aborts the process when a Statement is garbage
 * collected at a moment Node has no current environment (the
 * `RemoveEnvironmentCleanupHook: (env) != nullptr` assertion; upstream bug,
 * closed without a fix in 12.x). So no Statement of ours is ever left to the
 * collector: every prepared statement is kept here for the life of the
 * process (a few per opened store), and pragmas run through `exec`, which
 * creates none.
 */
const retainedStatements: unknown[] = [];

const retainStatements = (db: BetterSqlite3.Database): BetterSqlite3.Database => {
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    retainedStatements.push(statement);
    return statement;
  }) as BetterSqlite3.Database['prepare'];
  return db;
};

/** Opens a connection with our pragmas and makes sure the schema exists (safe when several processes race). */
export const openDatabase = (
  Database: typeof BetterSqlite3,
  path: string,
  synchronous: Synchronous,
  busyTimeoutMs: number,
): BetterSqlite3.Database => {
  const db = retainStatements(new Database(path));
  try {
    for (const pragma of connectionPragmas(synchronous, busyTimeoutMs)) db.exec(`PRAGMA ${pragma}`);
    const version = db.prepare('PRAGMA user_version').pluck().get() as number;
    if (version > SCHEMA_VERSION) throw new Error(`${path}: event store schema version ${version} is newer than this program (${SCHEMA_VERSION})`);
    if (version < SCHEMA_VERSION) {
      // IMMEDIATE takes the write lock first, so two processes creating the schema at once take turns.
      db.exec('BEGIN IMMEDIATE');
      try {
        // Read again under the lock: another process may have migrated meanwhile.
        const current = db.prepare('PRAGMA user_version').pluck().get() as number;
        if (current === 1) db.exec(MIGRATE_V1_SQL);
        else if (current === 0) db.exec(SCHEMA_SQL);
        db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
};
