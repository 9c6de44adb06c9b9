import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { auditLedger } from '../../../application/audit.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { recomputeHash } from '../../../application/integrity.js';
import { eventLeafHash } from '../../../application/merkle/eventLeaf.js';
import { toHex } from '../../../application/merkle/hashing.js';
import { makeLedgerLog } from '../../../application/merkle/ledgerLog.js';
import type { NewEvent, RecordedEvent } from '../../../application/ports/eventStore.js';
import type { HashedReads } from '../../../application/ports/hashedReads.js';
import { hashedReadsOf } from '../../../adapters/eventstore/fromUrl.js';
import { makeSqliteEventStore, type SqliteEventStore } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { signerFromKey } from '../../../adapters/ledger/ed25519.js';
import { newEvent } from '../../support/eventArbitraries.js';
import { makeTestClock, makeTestIds } from '../../unit/application/testClock.js';

/**
 * The SQLite hashing thread (adapters/eventstore/sqlite/sqliteHasher.ts)
 * against the main thread's own hashing: the same leaf and chain hashes for
 * random events, the same audit on a tampered file, the same log roots and
 * checkpoints from the follower.
 */
const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-hasher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const open = () => makeSqliteEventStore({ path: join(dir, `h${files++}.db`), synchronous: 'NORMAL' });

const readAll = async (store: SqliteEventStore) => {
  const all: RecordedEvent[] = [];
  for await (const e of store.readAll()) all.push(e);
  return all;
};

/** Every range of `size` events, from the start, concatenated. */
const hashAll = async (reads: HashedReads, size: number, withChain: boolean) => {
  const positions: number[] = [];
  const leaves: string[] = [];
  const chains: string[] = [];
  for (let after = -1; ; ) {
    const range = await reads.hashRange(after, size, withChain);
    for (let i = 0; i < range.positions.length; i++) {
      positions.push(range.positions[i] as number);
      leaves.push(toHex(range.leafHashes.subarray(i * 32, i * 32 + 32)));
      if (range.chainHashes !== undefined) chains.push(toHex(range.chainHashes.subarray(i * 32, i * 32 + 32)));
    }
    if (range.positions.length < size) return { positions, leaves, chains };
    after = range.positions[range.positions.length - 1] as number;
  }
};

/** Nice value of each of this process's threads (Linux /proc: field 19 of a task's stat). */
const threadNices = (): Map<string, number> =>
  new Map(readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return [[tid, Number(fields[16])] as const];
    } catch {
      return []; // a thread that ended between the listing and the read
    }
  }));

/** Threads started since `before`, with their nice values. */
const newThreads = (before: Map<string, number>) => [...threadNices()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);

const populated = async (store: SqliteEventStore) => {
  const ledger = makeLedger({ store, clock: makeTestClock(), ids: makeTestIds() });
  for (const id of ['a', 'b', 'c']) {
    await ledger.grant({ accountId: id, grantId: 'g', amount: 500 });
    await ledger.reserve({ accountId: id, reservationId: 'r', amount: 100, ttlMs: 60_000, purpose: { service: 'llm' } });
    await ledger.settle({ accountId: id, reservationId: 'r', charge: 40, usage: {}, priceSheetVersion: 'v1' });
    await ledger.deduct({ accountId: id, deductionId: 'd', amount: 10, service: 'sora2' });
  }
};

describe('sqlite hashing thread', () => {
  it('hashes random events exactly as the main thread does, in any range size', async () => {
    const store = await open();
    try {
      const batches = fc.sample(fc.array(newEvent, { minLength: 1, maxLength: 20 }), { numRuns: 30, seed: 12 });
      for (const [i, batch] of batches.entries()) {
        const appended = await store.appendToStream(`s-${i % 7}-${i}`, batch as NewEvent[], 'no_stream')();
        expect(appended._tag).toBe('Right');
      }
      const events = await readAll(store);
      expect(events.length).toBeGreaterThan(50);
      const expected = { positions: events.map((e) => e.position), leaves: events.map((e) => toHex(eventLeafHash(e))), chains: events.map(recomputeHash) };
      for (const size of [1, 7, 1000]) expect(await hashAll(store.hashedReads, size, true)).toEqual(expected);
      expect(await hashAll(store.hashedReads, 13, false)).toEqual({ ...expected, chains: [] });
      expect(hashedReadsOf(store)).toBe(store.hashedReads);
    } finally {
      await store.close();
    }
  });

  it('the audit through the thread finds what the in-thread audit finds on a tampered file', async () => {
    const store = await open();
    const path = join(dir, `h${files - 1}.db`);
    try {
      await populated(store);
      const honest = await auditLedger(store, { hashedReads: store.hashedReads });
      expect(honest.violations).toEqual([]);
      expect(honest).toEqual({ ...(await auditLedger(store)), elapsedMs: honest.elapsedMs, eventsPerSecond: honest.eventsPerSecond });
      // An attacker with the file: inflate a grant, rewrite a settle's charge, drop a deduction.
      const db = new Database(path);
      db.prepare("UPDATE events SET data = json_set(data, '$.amount', 50000) WHERE position = 1").run();
      db.prepare("UPDATE events SET data = json_set(data, '$.charged', 0) WHERE position = 7").run();
      db.prepare('DELETE FROM events WHERE position = 11').run();
      db.close();
      const inThread = await auditLedger(store);
      const viaThread = await auditLedger(store, { hashedReads: store.hashedReads });
      expect(inThread.violations.length).toBeGreaterThan(2);
      expect(viaThread.violations).toEqual(inThread.violations);
      expect(viaThread.digest).toBe(inThread.digest);
      expect(viaThread.digest).not.toBe(honest.digest);
      const at = (await readAll(store))[5]?.committedAt as number;
      expect((await auditLedger(store, { at, hashedReads: store.hashedReads })).digest).toBe((await auditLedger(store, { at })).digest);
    } finally {
      await store.close();
    }
  });

  it('the follower fed by the thread signs the same roots and checkpoints as the in-thread one', async () => {
    const store = await open();
    const key = generateKeyPairSync('ed25519').privateKey;
    const logOf = (hashedReads?: HashedReads) => {
      const saved: string[] = [];
      const log = makeLedgerLog({
        store,
        signer: signerFromKey('test/log', key),
        origin: 'test/log',
        checkpoints: { latest: async () => undefined, save: async (note) => void saved.push(note) },
        checkpointEvery: 5,
        ...(hashedReads === undefined ? {} : { hashedReads }),
      });
      return { log, saved };
    };
    const plain = logOf();
    const threaded = logOf(store.hashedReads);
    try {
      await populated(store);
      await Promise.all([plain.log.start(), threaded.log.start()]);
      // Live appends while both follow.
      const ledger = makeLedger({ store, clock: makeTestClock(), ids: makeTestIds() });
      for (let n = 0; n < 12; n++) await ledger.grant({ accountId: `live${n % 3}`, grantId: `g${n}`, amount: 10 + n });
      const last = (await readAll(store)).at(-1)?.position as number;
      expect(await plain.log.waitFor(last, 10_000)).toBe(true);
      expect(await threaded.log.waitFor(last, 10_000)).toBe(true);
      const size = plain.log.size();
      expect(threaded.log.size()).toBe(size);
      for (let n = 0; n <= size; n++) expect(toHex(threaded.log.root(n))).toBe(toHex(plain.log.root(n)));
      expect(threaded.log.inclusion(last)).toEqual(plain.log.inclusion(last));
      expect(threaded.saved).toEqual(plain.saved);
      // Signed as the live appends crossed each multiple of 5 (nothing is signed while a log catches up at start).
      expect(threaded.saved.length).toBeGreaterThanOrEqual(3);
    } finally {
      await plain.log.stop();
      await threaded.log.stop();
      await store.close();
    }
  });

  const onLinux = process.platform === 'linux' ? it : it.skip;

  onLinux('the ledger log follower hashes in its own thread at nice 19; the audit hashes at the process priority', async () => {
    const base = threadNices().get(String(process.pid)) as number;
    expect(base).toBeLessThan(19);
    const store = await open();
    try {
      await populated(store);
      const before = threadNices();
      await store.hashedReads.hashRange(-1, 100, true);
      // One thread for the audit, at the main thread's priority.
      expect(newThreads(before)).toEqual([base]);
      const leaves: number[] = [];
      const subscription = store.hashedReads.subscribeToLeafHashes((range) => void leaves.push(range.positions.length));
      await subscription.caughtUp;
      expect(leaves.reduce((a, b) => a + b, 0)).toBe((await readAll(store)).length);
      // And one more for the follower, lowered to 19: when both want the CPU, appends get it first.
      expect(newThreads(before).sort((a, b) => a - b)).toEqual([base, 19]);
      expect(threadNices().get(String(process.pid))).toBe(base);
      await subscription.stop();
    } finally {
      await store.close();
    }
  });

  onLinux('followerNice 0 leaves the follower\'s thread at the process priority', async () => {
    const base = threadNices().get(String(process.pid)) as number;
    const store = await makeSqliteEventStore({ path: join(dir, `h${files++}.db`), synchronous: 'NORMAL', followerNice: 0 });
    try {
      await populated(store);
      const before = threadNices();
      const subscription = store.hashedReads.subscribeToLeafHashes(() => undefined);
      await subscription.caughtUp;
      expect(newThreads(before)).toEqual([base]);
      await subscription.stop();
    } finally {
      await store.close();
    }
  });
});
