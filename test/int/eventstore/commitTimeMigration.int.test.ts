import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import pg from 'pg';
import { makePostgresEventStore } from '../../../adapters/eventstore/postgres/postgresEventStore.js';
import { makeSqliteEventStore } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import type { EventStore, RecordedEvent } from '../../../application/ports/eventStore.js';
import { event } from '../../contract/eventStore.contract.js';
import { describeWithPostgres } from '../../support/services.js';

/**
 * Stores written before commit times existed get the column on first open,
 * filled from each event's recorded time and made non-decreasing along the
 * global order (the writers' clocks could disagree); new appends never go
 * below the last commit time.
 */
const RECORDED = [5_000, 3_000, 9_000, 7_000];
const EXPECTED = [5_000, 5_000, 9_000, 9_000];
const metadata = (n: number) => JSON.stringify({ hash: `h${n}`, prevHash: n === 0 ? '' : `h${n - 1}`, recordedAt: RECORDED[n] });

const readAll = async (store: EventStore) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};

const checkMigrated = async (store: EventStore) => {
  const before = await readAll(store);
  expect(before.map((e) => e.committedAt)).toEqual(EXPECTED);
  await store.appendToStream('s', [event('After', {}, 4)], 3)();
  const after = await readAll(store);
  expect(after).toHaveLength(5);
  expect((after[4] as RecordedEvent).committedAt).toBeGreaterThanOrEqual(9_000);
};

describe('commit time migration, SQLite (schema version 1 -> 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds committed_at to a version 1 file and keeps its events', async () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE streams (stream_id INTEGER PRIMARY KEY, stream_name TEXT NOT NULL UNIQUE);
      CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL REFERENCES streams (stream_id),
        revision INTEGER NOT NULL CHECK (revision >= 0), type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, UNIQUE (stream_id, revision));
      INSERT INTO streams (stream_id, stream_name) VALUES (1, 's');
      PRAGMA user_version = 1;`);
    const insert = db.prepare('INSERT INTO events (position, stream_id, revision, type, data, metadata) VALUES (?, 1, ?, ?, ?, ?)');
    for (let n = 0; n < 4; n++) insert.run(n, n, 'Old', '{}', metadata(n));
    db.close();
    const store = await makeSqliteEventStore({ path });
    try {
      await checkMigrated(store);
    } finally {
      await store.close();
    }
  });
});

describeWithPostgres('commit time migration, PostgreSQL', (url) => {
  const schema = `t_migrate_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('adds committed_at to a table made before it existed', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.events (position bigint PRIMARY KEY, stream_name text NOT NULL, revision bigint NOT NULL CHECK (revision >= 0),
        type text NOT NULL, data json NOT NULL, metadata json NOT NULL, UNIQUE (stream_name, revision))`);
    for (let n = 0; n < 4; n++) {
      await client.query(`INSERT INTO ${schema}.events VALUES ($1, 's', $1, 'Old', '{}', $2)`, [n, metadata(n)]);
    }
    await client.end();
    const store = await makePostgresEventStore({ connectionString: url, schema });
    try {
      await checkMigrated(store);
    } finally {
      await store.close();
    }
  });
});
