import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { connectionPragmas, SCHEMA_SQL, type Synchronous } from '../../adapters/eventstore/sqlite/sqliteSchema.js';
import { ledgerEvents, MANY_STREAMS, type Scenario } from './workload.js';

/**
 * The ceilings: the same rows (ledger-sized events, 1-2 per append) written
 * as raw batched inserts, with no revision check, no queue, no thread hop:
 *
 * - SQLite: one prepared INSERT per row into the same schema, with the same
 *   pragmas (WAL, synchronous FULL or NORMAL), one transaction per batch,
 *   synchronously on this thread.
 * - PostgreSQL: one multi-row INSERT (json_to_recordset, as the adapter) per
 *   batch inside BEGIN/COMMIT on one connection. (COPY would need
 *   pg-copy-streams, which is not installed.)
 *
 * `appendsPerTxn` is the batch size: run it with the number of concurrent
 * callers for the ceiling of perfect group commit at that concurrency, and
 * with a large batch for the storage's absolute ceiling. Rows go to one
 * stream (hot) or are spread over the same number of streams as the
 * workload (many), since that changes how the (stream, revision) index grows.
 */
export type CeilingResult = { readonly appendsPerSecond: number; readonly eventsPerSecond: number };

/** The next batch: per append, a stream index, its first revision and its events. */
const makeRows = (scenario: Scenario) => {
  const revisions = new Map<number, number>();
  let seq = 0;
  return (appends: number) =>
    Array.from({ length: appends }, () => {
      const stream = scenario === 'hot' ? 0 : Math.floor(Math.random() * MANY_STREAMS);
      const events = ledgerEvents(1 + (seq % 2), seq++);
      const first = revisions.get(stream) ?? 0;
      revisions.set(stream, first + events.length);
      return { stream, first, events };
    });
};

export const sqliteCeiling = (
  path: string,
  synchronous: Synchronous,
  scenario: Scenario,
  appendsPerTxn: number,
  durationMs: number,
): CeilingResult => {
  const db = new Database(path);
  for (const pragma of connectionPragmas(synchronous, 5000)) db.pragma(pragma);
  db.exec(SCHEMA_SQL);
  // Fresh streams (ids far above any used before), created up front: the
  // schema's foreign key from events to streams stays on, as in the store.
  const base = (db.prepare('SELECT coalesce(max(stream_id), 0) + 1 FROM streams').pluck().get() as number) + 1_000_000;
  const createStream = db.prepare('INSERT INTO streams (stream_id, stream_name) VALUES (?, ?)');
  db.transaction(() => {
    for (let k = 0; k < (scenario === 'hot' ? 1 : MANY_STREAMS); k++) createStream.run(base + k, `ceiling-${base + k}`);
  })();
  const insert = db.prepare('INSERT INTO events (position, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');
  let position = (db.prepare('SELECT coalesce(max(position), -1) FROM events').pluck().get() as number) + 1;
  const nextRows = makeRows(scenario);
  let appends = 0;
  let events = 0;
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    const batch = nextRows(appendsPerTxn);
    db.exec('BEGIN IMMEDIATE');
    for (const { stream, first, events: rows } of batch) {
      rows.forEach((e, i) => insert.run(position++, base + stream, first + i, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)));
      events += rows.length;
    }
    db.exec('COMMIT');
    appends += batch.length;
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return { appendsPerSecond: appends / seconds, eventsPerSecond: events / seconds };
};

export const postgresCeiling = async (
  connectionString: string,
  schema: string,
  scenario: Scenario,
  appendsPerTxn: number,
  durationMs: number,
): Promise<CeilingResult> => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.ceiling (LIKE ${schema}.events INCLUDING ALL)`);
  const prefix = `ceiling-${randomBytes(4).toString('hex')}`;
  const { rows } = await client.query<{ last: string }>(`SELECT coalesce(max(position), -1) AS last FROM ${schema}.ceiling`);
  let position = Number(rows[0]?.last) + 1;
  const nextRows = makeRows(scenario);
  let appends = 0;
  let events = 0;
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    const json: string[] = [];
    for (const { stream, first, events: rows } of nextRows(appendsPerTxn)) {
      rows.forEach((e, i) => {
        json.push(`{"p":${position++},"s":"${prefix}-${stream}","r":${first + i},"t":"${e.type}","d":${JSON.stringify(e.data)},"m":${JSON.stringify(e.metadata)}}`);
      });
      events += rows.length;
    }
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO ${schema}.ceiling (position, stream_name, revision, type, data, metadata, committed_at)
       SELECT p, s, r, t, d, m, (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM json_to_recordset($1::json) AS e(p bigint, s text, r bigint, t text, d json, m json)`,
      [`[${json.join(',')}]`],
    );
    await client.query('COMMIT');
    appends += appendsPerTxn;
  }
  const seconds = (performance.now() - started) / 1000;
  await client.end();
  return { appendsPerSecond: appends / seconds, eventsPerSecond: events / seconds };
};
