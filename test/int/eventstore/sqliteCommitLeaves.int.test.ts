import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { makeLedger } from '../../../application/credits/ledger.js';
import { eventLeafHash } from '../../../application/merkle/eventLeaf.js';
import { toHex } from '../../../application/merkle/hashing.js';
import { makeLedgerLog } from '../../../application/merkle/ledgerLog.js';
import type { NewEvent, RecordedEvent } from '../../../application/ports/eventStore.js';
import type { HashedReads } from '../../../application/ports/hashedReads.js';
import { makeSqliteEventStore, type LeafSource, type SqliteEventStore, type SqliteEventStoreOptions } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { signerFromKey } from '../../../adapters/ledger/ed25519.js';
import { newEvent } from '../../support/eventArbitraries.js';
import { makeTestClock, makeTestIds } from '../../unit/application/testClock.js';

/**
 * Leaves hashed from the rows the SQLite writer thread committed
 * (sqliteWriterThread.ts), by the writer before it answers (`commit`), by
 * the writer after it answered (`afterAnswer`), or by the hashing thread the
 * rows are forwarded to (`forwarded`), and merged with reads for what the
 * writer did not see (sqliteHasher.ts). For each of them:
 * the leaves equal `eventLeafHash` of the events read back; nothing rolled
 * back or refused gets a leaf; appends by a second store on the same file
 * (another process, for the follower) and a restart of the follower give
 * the same tree as a follower that reads every event.
 */
const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-leaves-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const nextPath = () => join(dir, `l${files++}.db`);

const readAll = async (store: SqliteEventStore) => {
  const all: RecordedEvent[] = [];
  for await (const e of store.readAll()) all.push(e);
  return all;
};

const until = async (check: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

/** A leaf subscriber that keeps what it was given. */
const recordLeaves = async (reads: HashedReads) => {
  const positions: number[] = [];
  const leaves: string[] = [];
  const errors: unknown[] = [];
  const subscription = reads.subscribeToLeafHashes(
    (range) => {
      for (let i = 0; i < range.positions.length; i++) {
        positions.push(range.positions[i] as number);
        leaves.push(toHex(range.leafHashes.subarray(i * 32, i * 32 + 32)));
      }
    },
    { onError: (error) => errors.push(error) },
  );
  await subscription.caughtUp;
  return { positions, leaves, errors, stop: subscription.stop };
};

const expectedLeaves = (events: readonly RecordedEvent[]) => ({ positions: events.map((e) => e.position), leaves: events.map((e) => toHex(eventLeafHash(e))) });

const sources: readonly LeafSource[] = ['commit', 'afterAnswer', 'forwarded'];

describe.each(sources)('sqlite leaves hashed from committed rows (%s)', (source) => {
  const open = (path: string, options: Partial<SqliteEventStoreOptions> = {}) => makeSqliteEventStore({ path, synchronous: 'NORMAL', leaves: source, ...options });

  it('equal eventLeafHash of the events read back, for random events, and come from the writer alone', async () => {
    // No polling during the test: every live leaf must come from the writer, none from a read.
    const store = await open(nextPath(), { pollIntervalMs: 60_000 });
    try {
      const recorded = await recordLeaves(store.hashedReads);
      const batches = fc.sample(fc.array(newEvent, { minLength: 1, maxLength: 12 }), { numRuns: 40, seed: 1212 });
      // Some alone, some together in one group-commit batch.
      for (let i = 0; i < batches.length; i += 4) {
        const group = batches.slice(i, i + 1 + (i % 3));
        const outcomes = await Promise.all(group.map((batch, k) => store.appendToStream(`s-${i}-${k}`, batch as NewEvent[], 'no_stream')()));
        for (const outcome of outcomes) expect(outcome._tag).toBe('Right');
      }
      const events = await readAll(store);
      await until(() => recorded.positions.length >= events.length, 'the leaves');
      expect({ positions: recorded.positions, leaves: recorded.leaves }).toEqual(expectedLeaves(events));
      expect(store.leafStats()).toEqual({ fromCommit: events.length, fromReads: 0 });
      expect(store.stats().leaves).toBe(events.length);
      expect(recorded.errors).toEqual([]);
      await recorded.stop();
    } finally {
      await store.close();
    }
  });

  it('give no leaf for an append that was rolled back or refused, and the right positions to the others', async () => {
    const store = await open(nextPath(), { pollIntervalMs: 60_000 });
    try {
      const recorded = await recordLeaves(store.hashedReads);
      const good = (n: number): NewEvent[] => [{ type: 'Good', data: { n }, metadata: { hash: `h${n}`, prevHash: '', recordedAt: n } }];
      // Undefined data has no JSON text: the second event's insert fails inside the batch's transaction, after the first was
      // written at position 1; the transaction is rolled back and run again without this append, and 'c' takes position 1.
      const bad = [...good(9), { type: 'Bad', data: undefined, metadata: {} }] as unknown as NewEvent[];
      const outcomes = await Promise.allSettled([
        store.appendToStream('a', good(1), 'no_stream')(),
        store.appendToStream('b', bad, 'no_stream')(),
        store.appendToStream('c', good(2), 'no_stream')(),
        store.appendToStream('a', good(3), 5)(),
      ]);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value._tag : 'rejected'))).toEqual(['Right', 'rejected', 'Right', 'Left']);
      expect(store.stats().transactions).toBeGreaterThanOrEqual(1);
      const events = await readAll(store);
      expect(events.map((e) => [e.position, e.type])).toEqual([
        [0, 'Good'],
        [1, 'Good'],
      ]);
      await until(() => recorded.positions.length >= 2, 'the leaves');
      await store.appendToStream('d', good(4), 'no_stream')();
      const after = await readAll(store);
      await until(() => recorded.positions.length >= 3, 'the last leaf');
      expect({ positions: recorded.positions, leaves: recorded.leaves }).toEqual(expectedLeaves(after));
      expect(store.leafStats()).toEqual({ fromCommit: 3, fromReads: 0 });
      await recorded.stop();
    } finally {
      await store.close();
    }
  });

  it('merged with reads of another store on the same file, and across a restart, give the tree of a follower that reads everything', async () => {
    const path = nextPath();
    const local = await open(path, { pollIntervalMs: 25 });
    const foreign = await open(path, { pollIntervalMs: 25 });
    const key = generateKeyPairSync('ed25519').privateKey;
    const logOf = (hashedReads?: HashedReads) => {
      const saved: string[] = [];
      const log = makeLedgerLog({
        store: local,
        signer: signerFromKey('test/log', key),
        origin: 'test/log',
        checkpoints: { latest: async () => undefined, save: async (note) => void saved.push(note) },
        checkpointEvery: 7,
        ...(hashedReads === undefined ? {} : { hashedReads }),
      });
      return { log, saved };
    };
    const plain = logOf();
    const merged = logOf(local.hashedReads);
    const ledgers = [local, foreign].map((store) => makeLedger({ store, clock: makeTestClock(), ids: makeTestIds() }));
    // Which store each grant goes through, and how many go together: random, but the same every run.
    const plan = fc.sample(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 4 })), { minLength: 25, maxLength: 25 }), { numRuns: 1, seed: 77 })[0] ?? [];
    let grant = 0;
    const run = async (steps: typeof plan) => {
      for (const [side, together] of steps) {
        await Promise.all(
          Array.from({ length: together }, () => {
            const n = grant++;
            return (ledgers[side] ?? ledgers[0])?.grant({ accountId: `acc${n % 5}-${side}`, grantId: `g${n}`, amount: 10 + n });
          }),
        );
      }
    };
    const lastPosition = async () => (await readAll(local)).at(-1)?.position ?? -1;
    try {
      await run(plan.slice(0, 5));
      await Promise.all([plain.log.start(), merged.log.start()]);
      await run(plan.slice(5, 15));
      // A foreign append with nothing local after it: found by polling, within its usual delay.
      await ledgers[1]?.grant({ accountId: 'cli', grantId: 'cli-1', amount: 1 });
      expect(await merged.log.waitFor(await lastPosition(), 2_000)).toBe(true);
      await merged.log.stop();
      await run(plan.slice(15));
      await merged.log.start();
      const last = await lastPosition();
      expect(await plain.log.waitFor(last, 10_000)).toBe(true);
      expect(await merged.log.waitFor(last, 10_000)).toBe(true);
      const size = plain.log.size();
      expect(size).toBe((await readAll(local)).length);
      expect(merged.log.size()).toBe(size);
      for (let n = 0; n <= size; n++) expect(toHex(merged.log.root(n))).toBe(toHex(plain.log.root(n)));
      expect(merged.log.inclusion(last)).toEqual(plain.log.inclusion(last));
      expect(merged.saved).toEqual(plain.saved);
      const stats = local.leafStats();
      expect(stats.fromCommit).toBeGreaterThan(0);
      expect(stats.fromReads).toBeGreaterThan(0);
      expect(stats.fromCommit + stats.fromReads).toBe(size);
    } finally {
      await plain.log.stop();
      await merged.log.stop();
      await foreign.close();
      await local.close();
    }
  });
});
