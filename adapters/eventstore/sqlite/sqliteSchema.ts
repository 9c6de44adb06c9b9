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
 * - data and metadata are JSON text written with JSON.stringify and read back
 *   with JSON.parse, so what comes back is what went in.
 */
export const SCHEMA_VERSION = 1;

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
  UNIQUE (stream_id, revision)
);`;

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
  lastPosition: 'SELECT coalesce(max(position), -1) FROM events',
  selectStream: `SELECT stream_id, (SELECT max(revision) FROM events WHERE stream_id = streams.stream_id)
    FROM streams WHERE stream_name = ?`,
  insertStream: 'INSERT INTO streams (stream_name) VALUES (?)',
  insertEvent: 'INSERT INTO events (position, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
} as const;

export type WriterSql = typeof WRITER_SQL;

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
        db.exec(SCHEMA_SQL);
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
