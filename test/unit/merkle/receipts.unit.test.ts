import { describe, expect, it } from '@jest/globals';
import type { EventStore, NewEvent, ReadStreamOptions, RecordedEvent } from '../../../application/ports/eventStore.js';
import { findReceipt, receiptOf } from '../../../application/merkle/receipts.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';

/** Finding the event a charge became, for its receipt: newest first, then backwards in windows. */
const event = (i: number): NewEvent => ({ type: 'Charged', data: { chargeId: `c${i}` }, metadata: { hash: `h${i}`, prevHash: i === 0 ? '' : `h${i - 1}`, recordedAt: 1000 + i } });

const counting = (store: EventStore) => {
  const reads: ReadStreamOptions[] = [];
  return {
    reads,
    store: { ...store, readStream: (name: string, options?: ReadStreamOptions) => (reads.push(options ?? {}), store.readStream(name, options)) } as EventStore,
  };
};

const all = async (store: EventStore, name: string) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readStream(name)) out.push(e);
  return out;
};

describe('findReceipt', () => {
  it('reads only the newest event when it is the one (the usual case: just appended)', async () => {
    const memory = makeMemoryEventStore();
    await memory.appendToStream('acct', Array.from({ length: 40 }, (_, i) => event(i)), 'no_stream')();
    const { store, reads } = counting(memory);
    const receipt = await findReceipt(store, 'acct', 39, (e) => e.data['chargeId'] === 'c39');
    expect(receipt).toEqual(receiptOf((await all(memory, 'acct'))[39] as RecordedEvent));
    expect(reads).toEqual([{ fromRevision: 39, maxCount: 1 }]);
  });

  it('finds an older event (an idempotent replay) in windows going back', async () => {
    const memory = makeMemoryEventStore();
    await memory.appendToStream('acct', Array.from({ length: 40 }, (_, i) => event(i)), 'no_stream')();
    const { store, reads } = counting(memory);
    const receipt = await findReceipt(store, 'acct', 39, (e) => e.data['chargeId'] === 'c3');
    expect(receipt?.position).toBe(3);
    expect(reads.map((r) => [r.fromRevision, r.maxCount])).toEqual([
      [39, 1],
      [23, 16],
      [7, 16],
      [0, 7],
    ]);
    expect(await findReceipt(store, 'acct', 39, () => false)).toBeUndefined();
  });
});
