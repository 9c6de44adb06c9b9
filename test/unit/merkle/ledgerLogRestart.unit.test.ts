import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { makeLedgerLog } from '../../../application/merkle/ledgerLog.js';
import { silentLogger } from '../../../application/ports/clock.js';
import type { EventStore, NewEvent } from '../../../application/ports/eventStore.js';
import { makeSupervisor } from '../../../application/supervisor.js';
import type { Supervisor } from '../../../application/supervisor.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { signerFromKey } from '../../../adapters/ledger/ed25519.js';
import { makeFailingStore } from '../../support/failingStore.js';

const event = (i: number): NewEvent => ({ type: 'Noted', data: { i }, metadata: { hash: `h${i}`, prevHash: i === 0 ? '' : `h${i - 1}`, recordedAt: i } });

const key = generateKeyPairSync('ed25519').privateKey;
const logOn = (store: EventStore, supervisor?: Supervisor) =>
  makeLedgerLog({ store, signer: signerFromKey('test/log', key), origin: 'test/log', checkpoints: { latest: async () => undefined, save: async () => undefined }, checkpointEvery: 1000, ...(supervisor === undefined ? {} : { supervisor }) });

describe('ledger log follower', () => {
  it('started again after a stop continues after its last leaf (no event hashed into the tree twice)', async () => {
    const store = makeMemoryEventStore();
    const logOf = () => logOn(store);
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

  it('starts again after its subscription fails (a store outage), counted by the supervisor, with every event once', async () => {
    const store = makeFailingStore(makeMemoryEventStore());
    const supervisor = makeSupervisor({ clock: { now: Date.now, sleep: async () => undefined }, ids: { random: () => 0.5 }, logger: silentLogger, backoff: { initialMs: 20, maxMs: 40 } });
    await store.appendToStream('s', [event(0), event(1), event(2)], 'no_stream')();
    const log = logOn(store, supervisor);
    await log.start();
    store.breakSubscriptions();
    await store.appendToStream('s', [event(3), event(4)], 2)();
    expect(await log.waitFor(4, 5_000)).toBe(true);
    expect(log.size()).toBe(5);
    const task = supervisor.state().tasks.find((t) => t.name === 'ledger log');
    expect(task).toMatchObject({ totalFailures: 1, restarts: 1 });
    await log.stop();
    const fresh = logOn(store);
    await fresh.start();
    await fresh.stop();
    expect(log.root()).toEqual(fresh.root());
  });

  it('without a supervisor stays stopped after a failure (the CLI\'s one-shot logs)', async () => {
    const store = makeFailingStore(makeMemoryEventStore());
    await store.appendToStream('s', [event(0)], 'no_stream')();
    const log = logOn(store);
    await log.start();
    store.breakSubscriptions();
    await store.appendToStream('s', [event(1)], 0)();
    expect(await log.waitFor(1, 300)).toBe(false);
    await log.stop();
  });
});
