import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { makeLedgerLog } from '../../../application/merkle/ledgerLog.js';
import type { EventStore, NewEvent } from '../../../application/ports/eventStore.js';
import type { CheckpointStore } from '../../../application/ports/checkpointStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { signerFromKey } from '../../../adapters/ledger/ed25519.js';

/**
 * At start-up the ledger log compares the store with the newest checkpoint it
 * saved before: a store rolled back or rewritten under it must be named
 * before the log signs anything (adapters/ledger/runLedgerLog.ts decides what
 * to do about it).
 */
const event = (i: number, tag = ''): NewEvent => ({ type: 'Noted', data: { i, tag }, metadata: { hash: `h${i}${tag}`, prevHash: i === 0 ? '' : `h${i - 1}${tag}`, recordedAt: i } });

const key = generateKeyPairSync('ed25519').privateKey;

const saved = (): CheckpointStore & { notes: string[] } => {
  const notes: string[] = [];
  return { notes, latest: async () => notes.at(-1), save: async (note) => void notes.push(note) };
};

const logOn = (store: EventStore, checkpoints: CheckpointStore, options: { origin?: string; signingKey?: typeof key } = {}) =>
  makeLedgerLog({
    store,
    signer: signerFromKey(options.origin ?? 'test/log', options.signingKey ?? key),
    origin: options.origin ?? 'test/log',
    checkpoints,
    checkpointEvery: 1000,
  });

const storeWith = async (n: number, tag = '') => {
  const store = makeMemoryEventStore();
  await store.appendToStream('s', Array.from({ length: n }, (_, i) => event(i, tag)), 'no_stream')();
  return store;
};

/** A log that ran on `store` and signed a checkpoint of all of it. */
const signedOn = async (store: EventStore) => {
  const checkpoints = saved();
  const log = logOn(store, checkpoints);
  await log.start();
  await log.checkpointNow();
  await log.stop();
  return checkpoints;
};

describe('ledger log history check at start', () => {
  it('none without a saved checkpoint; consistent when the store extends the saved one', async () => {
    const store = await storeWith(5);
    const fresh = logOn(store, saved());
    await fresh.start();
    expect(fresh.history()).toEqual({ kind: 'none' });
    await fresh.stop();

    const checkpoints = await signedOn(store);
    await store.appendToStream('s', [event(5), event(6)], 4)();
    const again = logOn(store, checkpoints);
    await again.start();
    expect(again.history()).toEqual({ kind: 'consistent', saved: 5, size: 7 });
    await again.stop();
  });

  it('rolledBack when the store holds fewer events than the saved checkpoint', async () => {
    const checkpoints = await signedOn(await storeWith(5));
    const log = logOn(await storeWith(3), checkpoints);
    await log.start();
    expect(log.history()).toEqual({ kind: 'rolledBack', saved: 5, size: 3 });
    await log.stop();
  });

  it('rewritten when the saved prefix hashes to another root, even with more events', async () => {
    const checkpoints = await signedOn(await storeWith(5));
    const log = logOn(await storeWith(6, 'x'), checkpoints);
    await log.start();
    expect(log.history()).toEqual({ kind: 'rewritten', saved: 5, size: 6 });
    await log.stop();
  });

  it('a checkpoint of another log identity (origin or key) is not this log\'s promise; a damaged file is unreadable', async () => {
    const checkpoints = await signedOn(await storeWith(5));
    const otherOrigin = logOn(await storeWith(3), checkpoints, { origin: 'other/log' });
    await otherOrigin.start();
    expect(otherOrigin.history()).toEqual({ kind: 'none' });
    await otherOrigin.stop();
    const otherKey = logOn(await storeWith(3), checkpoints, { signingKey: generateKeyPairSync('ed25519').privateKey });
    await otherKey.start();
    expect(otherKey.history()).toEqual({ kind: 'none' });
    await otherKey.stop();
    const damaged = logOn(await storeWith(3), { latest: async () => 'not a note', save: async () => undefined });
    await damaged.start();
    expect(damaged.history().kind).toBe('unreadable');
    await damaged.stop();
  });

  it('signs nothing while it catches up, and nothing at all when beforeSigning refuses the history', async () => {
    const checkpoints = await signedOn(await storeWith(5));
    const before = checkpoints.notes.length;
    const store = await storeWith(3);
    const eager = makeLedgerLog({ store, signer: signerFromKey('test/log', key), origin: 'test/log', checkpoints, checkpointEvery: 1 });
    const seen: string[] = [];
    await expect(
      eager.start({
        beforeSigning: (history) => {
          seen.push(history.kind);
          throw new Error('refused');
        },
      }),
    ).rejects.toThrow('refused');
    expect(seen).toEqual(['rolledBack']);
    // Three events caught up with a checkpoint due after each, and not one signed.
    expect(checkpoints.notes.length).toBe(before);
    await expect(eager.checkpointNow()).rejects.toThrow('before start-up has checked the history');
    // Accepted, it signs the tree it caught up.
    const accepting = makeLedgerLog({ store, signer: signerFromKey('test/log', key), origin: 'test/log', checkpoints, checkpointEvery: 1 });
    await accepting.start({ beforeSigning: () => undefined });
    expect(checkpoints.notes.length).toBe(before);
    await accepting.checkpointNow();
    expect(checkpoints.notes.length).toBe(before + 1);
    await accepting.stop();
  });
});
