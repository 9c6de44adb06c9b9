import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import pg from 'pg';
import type { RecordedEvent } from '../../../application/ports/eventStore.js';
import { parsePostgresConnectionString } from '../../../adapters/eventstore/postgres/index.js';
import {
  makePostgresEventStore,
  type PostgresEventStoreOptions,
} from '../../../adapters/eventstore/postgres/postgresEventStore.js';
import { collect, event } from '../../contract/eventStore.contract.js';
import { postgresOrSkip } from '../../support/services.js';

const { describe, url: connectionString, enabled } = postgresOrSkip();
const schema = `t_${randomBytes(6).toString('hex')}`;
let admin: pg.Client;

beforeAll(async () => {
  if (!enabled) return;
  admin = new pg.Client({ connectionString });
  await admin.connect();
});
afterAll(async () => {
  if (!enabled) return;
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

let streams = 0;
const uniqueStream = (prefix: string) => `${prefix}-${streams++}-${randomBytes(3).toString('hex')}`;
const open = (options: Partial<PostgresEventStoreOptions> = {}) => makePostgresEventStore({ connectionString, schema, ...options });
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lastPosition = async () => {
  const { rows } = await admin.query<{ last: string }>(`SELECT coalesce(max(position), -1) AS last FROM ${schema}.events`);
  return Number(rows[0]?.last);
};

describe('postgres event store: group commit', () => {
  it('writes 200 concurrent appends to different streams in far fewer than 200 transactions', async () => {
    const store = await open();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.appendToStream(uniqueStream(`g${i}`), [event('Granted', { i })], 'no_stream')()),
    );
    expect(results.every(E.isRight)).toBe(true);
    expect(store.stats().transactions).toBeGreaterThanOrEqual(1);
    expect(store.stats().transactions).toBeLessThanOrEqual(10);
    const positions = results.map((r) => (E.isRight(r) ? r.right.position : -1)).sort((a, b) => a - b);
    expect(positions).toEqual(positions.map((_, i) => (positions[0] ?? 0) + i));
    await store.close();
  });

  it('fails a conflicting append alone while the rest of its batch commits', async () => {
    const store = await open();
    const a = uniqueStream('a');
    const b = uniqueStream('b');
    await store.appendToStream(a, [event('Opened')], 'no_stream')();
    const before = store.stats().transactions;
    const [first, stale, third] = await Promise.all([
      store.appendToStream(b, [event('Opened')], 'no_stream')(),
      store.appendToStream(a, [event('Stale')], 'no_stream')(),
      store.appendToStream(a, [event('Fresh')], 0)(),
    ]);
    expect(store.stats().transactions - before).toBe(1);
    expect(E.isRight(first) && E.isRight(third)).toBe(true);
    expect(stale).toEqual(E.left({ _tag: 'WrongExpectedRevision', streamName: a, expected: 'no_stream', actual: 0 }));
    expect((await collect(store.readStream(a))).map((e) => e.type)).toEqual(['Opened', 'Fresh']);
    await store.close();
  });

  it('answers with WrongExpectedRevision when a writer outside the protocol took the revision first', async () => {
    const s = uniqueStream('foreign');
    let intruded = false;
    const store = await open({
      hooks: {
        // After our transaction read the state, a foreign writer commits the same revision (and position).
        beforeWrite: async () => {
          if (intruded) return;
          intruded = true;
          const position = (await lastPosition()) + 1;
          await admin.query(`INSERT INTO ${schema}.events VALUES ($1, $2, 0, 'Foreign', '{}', '{}', (extract(epoch from clock_timestamp()) * 1000)::bigint)`, [position, s]);
        },
      },
    });
    const result = await store.appendToStream(s, [event('Ours')], 'no_stream')();
    expect(result).toEqual(E.left({ _tag: 'WrongExpectedRevision', streamName: s, expected: 'no_stream', actual: 0 }));
    expect(store.stats().retries).toBe(1);
    expect((await collect(store.readStream(s))).map((e) => e.type)).toEqual(['Foreign']);
    await store.close();
  });
});

describe('postgres event store: global order', () => {
  it('never lets a reader skip an append whose transaction commits late', async () => {
    const held = gate();
    const entered = gate();
    const slow = await open({
      hooks: {
        beforeCommit: async () => {
          entered.open();
          await held.opened;
        },
      },
    });
    const fast = await open();
    const checkpoint = await lastPosition();
    const seen: RecordedEvent[] = [];
    const subscription = fast.subscribeToAll((e) => void seen.push(e), { after: checkpoint });
    await subscription.caughtUp;

    const late = slow.appendToStream(uniqueStream('late'), [event('Late')], 'no_stream')();
    await entered.opened; // the slow transaction has written its row and holds the lock
    let earlyDone = false;
    const early = fast.appendToStream(uniqueStream('early'), [event('Early')], 'no_stream')().then((r) => {
      earlyDone = true;
      return r;
    });
    await sleep(300);
    // The second writer must wait: had it taken the next position and committed,
    // a reader would have moved past the slow writer's position.
    expect(earlyDone).toBe(false);
    expect(await collect(fast.readAll({ after: checkpoint }))).toEqual([]);
    expect(seen).toEqual([]);

    held.open();
    const [lateResult, earlyResult] = await Promise.all([late, early]);
    expect(E.isRight(lateResult) && E.isRight(earlyResult)).toBe(true);
    const deadline = Date.now() + 3000;
    while (seen.length < 2 && Date.now() < deadline) await sleep(10);
    await subscription.stop();
    expect(seen.map((e) => [e.type, e.position])).toEqual([
      ['Late', checkpoint + 1],
      ['Early', checkpoint + 2],
    ]);
    await Promise.all([slow.close(), fast.close()]);
  });

  it('lets exactly one of two store instances win each revision of a contested stream', async () => {
    const a = await open();
    const b = await open();
    const s = uniqueStream('hot');
    for (let revision = 0; revision < 30; revision++) {
      const expected = revision === 0 ? 'no_stream' : revision - 1;
      const results = await Promise.all([
        a.appendToStream(s, [event('ByA')], expected)(),
        b.appendToStream(s, [event('ByB')], expected)(),
      ]);
      expect(results.filter(E.isRight)).toHaveLength(1);
    }
    expect((await collect(a.readStream(s))).map((e) => e.revision)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const all = await collect(b.readAll());
    expect(all.map((e) => e.position)).toEqual(all.map((_, i) => i));
    await Promise.all([a.close(), b.close()]);
  });

  it('wakes a subscriber through LISTEN/NOTIFY for appends made by another instance', async () => {
    const writer = await open();
    // Polling so slow that only the notification can deliver within the deadline.
    const watcher = await open({ pollIntervalMs: 60_000 });
    const s = uniqueStream('notified');
    const seen: string[] = [];
    const subscription = watcher.subscribeToAll((e) => {
      if (e.streamName === s) seen.push(e.type);
    });
    await subscription.caughtUp;
    await sleep(200); // let the LISTEN connection start
    await writer.appendToStream(s, [event('Hello')], 'no_stream')();
    const deadline = Date.now() + 2000;
    while (seen.length < 1 && Date.now() < deadline) await sleep(10);
    await subscription.stop();
    expect(seen).toEqual(['Hello']);
    await Promise.all([writer.close(), watcher.close()]);
  });
});

describe('postgres event store: connection strings', () => {
  it('takes the schema from ?schema= and passes the rest to pg', () => {
    expect(parsePostgresConnectionString('postgres://root@127.0.0.1:5432/test?schema=ledger_2&sslmode=disable')).toEqual({
      connectionString: 'postgres://root@127.0.0.1:5432/test?sslmode=disable',
      schema: 'ledger_2',
    });
    expect(parsePostgresConnectionString('postgres://root@127.0.0.1/test').schema).toBe('ledger');
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(makePostgresEventStore({ connectionString, schema: 'x; DROP TABLE y' })).rejects.toThrow('schema must match');
  });
});
