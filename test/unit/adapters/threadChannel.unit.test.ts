import { Worker } from 'node:worker_threads';
import { describe, expect, it } from '@jest/globals';
import { makeRespawningChannel } from '../../../adapters/eventstore/sqlite/threadChannel.js';

/** A thread replaced after it dies: the SQLite writer's and hashing thread's channel. */
type To = { readonly kind: 'echo'; readonly value: number } | { readonly kind: 'die' };
type From = { readonly kind: 'echo'; readonly value: number; readonly threadId: number };

const source = `
const { parentPort, threadId } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.kind === 'die') process.exit(3);
  if (m.kind === 'close') { parentPort.postMessage({ kind: 'closed' }); parentPort.close(); return; }
  parentPort.postMessage({ kind: 'echo', value: m.value, threadId });
});`;

const spawnEcho = async (): Promise<Worker> => new Worker(source, { eval: true });

describe('respawning thread channel', () => {
  it('answers from a new thread after the old one exited; the request it held fails', async () => {
    let spawned = 0;
    const channel = makeRespawningChannel<To, From>(() => (spawned++, spawnEcho()), 'echo thread');
    await channel.ready();
    const first = await channel.exchange({ kind: 'echo', value: 1 });
    await expect(channel.exchange({ kind: 'die' })).rejects.toThrow('echo thread exited unexpectedly (code 3)');
    const after = await Promise.all([1, 2, 3, 4, 5].map((value) => channel.exchange({ kind: 'echo', value })));
    expect(after.map((r) => r.value)).toEqual([1, 2, 3, 4, 5]);
    // Five requests met the dead thread at once: one replacement, shared.
    expect(new Set(after.map((r) => r.threadId)).size).toBe(1);
    expect(after[0]?.threadId).not.toBe(first.threadId);
    expect(channel.restarts()).toBe(1);
    expect(spawned).toBe(2);
    await channel.close();
    await expect(channel.exchange({ kind: 'echo', value: 9 })).rejects.toThrow('closed');
  });

  it('tries again on the next request when a thread could not be started', async () => {
    let attempts = 0;
    const channel = makeRespawningChannel<To, From>(() => (++attempts === 1 ? Promise.reject(new Error('cannot open the file')) : spawnEcho()), 'echo thread');
    await expect(channel.ready()).rejects.toThrow('cannot open the file');
    await expect(channel.exchange({ kind: 'echo', value: 7 })).resolves.toMatchObject({ value: 7 });
    expect(attempts).toBe(2);
    await channel.close();
  });
});
