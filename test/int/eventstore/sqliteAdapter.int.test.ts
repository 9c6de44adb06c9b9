import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type { RecordedEvent } from '../../../application/ports/eventStore.js';
import { openSqliteEventStoreFromUrl, parseSqliteConnectionString } from '../../../adapters/eventstore/sqlite/index.js';
import { makeSqliteEventStore, type SqliteEventStore } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { collect, event } from '../../contract/eventStore.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-adapter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `store-${files++}.db`);

const expectGaplessPositions = async (store: SqliteEventStore) => {
  const positions = (await collect(store.readAll())).map((e) => e.position);
  expect(positions).toEqual(positions.map((_, i) => i));
};

describe('sqlite event store: group commit', () => {
  it('writes 200 concurrent appends to different streams in far fewer than 200 transactions', async () => {
    const store = await makeSqliteEventStore({ path: freshPath() });
    const before = store.stats().transactions;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.appendToStream(`account-${i}`, [event('Granted', { i })], 'no_stream')()),
    );
    expect(results.every(E.isRight)).toBe(true);
    const transactions = store.stats().transactions - before;
    expect(transactions).toBeGreaterThanOrEqual(1);
    expect(transactions).toBeLessThanOrEqual(10);
    await expectGaplessPositions(store);
    await store.close();
  });

  it('fails a conflicting append alone while the rest of its batch commits', async () => {
    const store = await makeSqliteEventStore({ path: freshPath() });
    await store.appendToStream('account-a', [event('Opened')], 'no_stream')();
    const before = store.stats().transactions;
    const [first, stale, third] = await Promise.all([
      store.appendToStream('account-b', [event('Opened')], 'no_stream')(),
      store.appendToStream('account-a', [event('Stale')], 'no_stream')(),
      store.appendToStream('account-a', [event('Fresh')], 0)(),
    ]);
    expect(store.stats().transactions - before).toBe(1);
    expect(E.isRight(first) && E.isRight(third)).toBe(true);
    expect(stale).toEqual(E.left({ _tag: 'WrongExpectedRevision', streamName: 'account-a', expected: 'no_stream', actual: 0 }));
    expect((await collect(store.readStream('account-a'))).map((e) => e.type)).toEqual(['Opened', 'Fresh']);
    await expectGaplessPositions(store);
    await store.close();
  });

  it('rejects an append that makes SQLite fail, and still commits the others of its batch', async () => {
    const path = freshPath();
    const store = await makeSqliteEventStore({ path });
    // A trigger stands in for any statement error inside the transaction.
    const admin = new Database(path);
    admin.exec(`CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.type = 'Poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END`);
    admin.close();
    const outcomes = await Promise.allSettled([
      store.appendToStream('s-1', [event('Fine')], 'no_stream')(),
      store.appendToStream('s-2', [event('Fine'), event('Poison')], 'no_stream')(),
      store.appendToStream('s-3', [event('Fine')], 'no_stream')(),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toContain('poisoned');
    expect(await collect(store.readStream('s-2'))).toEqual([]);
    expect((await collect(store.readAll())).map((e) => e.streamName)).toEqual(['s-1', 's-3']);
    await expectGaplessPositions(store);
    await store.close();
  });

  it('answers every queued append before close returns', async () => {
    const path = freshPath();
    const store = await makeSqliteEventStore({ path });
    const pending = Array.from({ length: 50 }, (_, i) => store.appendToStream(`c-${i}`, [event('E')], 'no_stream')());
    await store.close();
    expect((await Promise.all(pending)).every(E.isRight)).toBe(true);
    const reopened = await makeSqliteEventStore({ path });
    expect(await collect(reopened.readAll())).toHaveLength(50);
    await reopened.close();
  });
});

describe('sqlite event store: two instances on one file', () => {
  it('lets exactly one instance win each revision of a contested stream', async () => {
    const path = freshPath();
    const a = await makeSqliteEventStore({ path });
    const b = await makeSqliteEventStore({ path });
    for (let revision = 0; revision < 40; revision++) {
      const expected = revision === 0 ? 'no_stream' : revision - 1;
      const results = await Promise.all([
        a.appendToStream('hot', [event('ByA', { revision })], expected)(),
        b.appendToStream('hot', [event('ByB', { revision })], expected)(),
      ]);
      expect(results.filter(E.isRight)).toHaveLength(1);
    }
    const events = await collect(a.readStream('hot'));
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await expectGaplessPositions(b);
    await Promise.all([a.close(), b.close()]);
  });

  it('delivers appends made through another instance to a subscriber by polling', async () => {
    const path = freshPath();
    const writer = await makeSqliteEventStore({ path });
    const watcher = await makeSqliteEventStore({ path, pollIntervalMs: 20 });
    const seen: RecordedEvent[] = [];
    const subscription = watcher.subscribeToAll((e) => {
      seen.push(e);
    });
    await subscription.caughtUp;
    await writer.appendToStream('elsewhere', [event('One'), event('Two')], 'no_stream')();
    const deadline = Date.now() + 2000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await subscription.stop();
    expect(seen.map((e) => [e.type, e.position])).toEqual([
      ['One', 0],
      ['Two', 1],
    ]);
    await Promise.all([writer.close(), watcher.close()]);
  });
});

describe('sqlite event store: reading and opening', () => {
  it('pages through a stream and the global order across page boundaries', async () => {
    const store = await makeSqliteEventStore({ path: freshPath(), pageSize: 7 });
    await store.appendToStream('paged', Array.from({ length: 30 }, (_, i) => event('E', { i }, i)), 'no_stream')();
    await store.appendToStream('other', [event('X')], 'no_stream')();
    const slice = await collect(store.readStream('paged', { fromRevision: 5, maxCount: 16 }));
    expect(slice.map((e) => e.revision)).toEqual(Array.from({ length: 16 }, (_, i) => i + 5));
    const all = await collect(store.readAll({ after: 3 }));
    expect(all.map((e) => e.position)).toEqual(Array.from({ length: 27 }, (_, i) => i + 4));
    expect(all[all.length - 1]?.streamName).toBe('other');
    expect(await collect(store.readAll({ after: 3, maxCount: 14 }))).toHaveLength(14);
    await store.close();
  });

  it('opens sqlite:<path> URLs, creating the directory, in WAL mode', async () => {
    const path = join(dir, 'nested', 'deeper', 'ledger.db');
    const store = await openSqliteEventStoreFromUrl(`sqlite:${path}?synchronous=normal`);
    expect(existsSync(path)).toBe(true);
    await store.appendToStream('s', [event('E')], 'no_stream')();
    await store.close();
    const check = new Database(path, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
  });

  it('parses connection strings and names what is wrong', () => {
    expect(parseSqliteConnectionString('sqlite:data/ledger.db')).toEqual(E.right({ path: 'data/ledger.db', synchronous: 'FULL' }));
    expect(parseSqliteConnectionString('sqlite:data/ledger.db?synchronous=normal')).toEqual(
      E.right({ path: 'data/ledger.db', synchronous: 'NORMAL' }),
    );
    expect(parseSqliteConnectionString('sqlite:///var/lib/ledger.db')).toEqual(E.right({ path: '/var/lib/ledger.db', synchronous: 'FULL' }));
    expect(parseSqliteConnectionString('sqlite:')).toEqual(E.left(expect.stringContaining('file path')));
    expect(parseSqliteConnectionString('sqlite::memory:')).toEqual(E.left(expect.stringContaining('memory:')));
    expect(parseSqliteConnectionString('sqlite:x.db?synchronous=off')).toEqual(E.left(expect.stringContaining('full or normal')));
    expect(parseSqliteConnectionString('sqlite:x.db?cache=shared')).toEqual(E.left(expect.stringContaining('"cache"')));
  });
});
