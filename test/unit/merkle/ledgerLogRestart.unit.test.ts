import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { makeLedgerLog } from '../../../application/merkle/ledgerLog.js';
import type { NewEvent } from '../../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { signerFromKey } from '../../../adapters/ledger/ed25519.js';

const event = (i: number): NewEvent => ({ type: 'Noted', data: { i }, metadata: { hash: `h${i}`, prevHash: i === 0 ? '' : `h${i - 1}`, recordedAt: i } });

describe('ledger log follower', () => {
  it('started again after a stop continues after its last leaf (no event hashed into the tree twice)', async () => {
    const store = makeMemoryEventStore();
    const key = generateKeyPairSync('ed25519').privateKey;
    const logOf = () => makeLedgerLog({ store, signer: signerFromKey('test/log', key), origin: 'test/log', checkpoints: { latest: async () => undefined, save: async () => undefined }, checkpointEvery: 1000 });
    await store.appendToStream('s', [event(0), event(1), event(2)], 'no_stream')();
    const log = logOf();
    await log.start();
    expect(log.size()).toBe(3);
    await log.stop();
    await store.appendToStream('s', [event(3), event(4)], 2)();
    await log.start();
    expect(await log.waitFor(4, 5_000)).toBe(true);
    await log.stop();
    const fresh = logOf();
    await fresh.start();
    await fresh.stop();
    expect(log.size()).toBe(5);
    expect(log.root()).toEqual(fresh.root());
  });
});
