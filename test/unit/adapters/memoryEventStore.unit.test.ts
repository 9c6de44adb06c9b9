import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import type { NewEvent, RecordedEvent } from '../../../application/ports/eventStore.js';

/**
 * The memory store copies what it is given by hand for plain JSON instead of
 * with structuredClone: the copy must be the one structuredClone makes, and
 * history must stay what was appended whatever the caller does afterwards.
 */
const readAll = async (store: ReturnType<typeof makeMemoryEventStore>): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const event of store.readAll()) out.push(event);
  return out;
};

const metadata = { hash: 'h', prevHash: '', recordedAt: 1 };

// Two invalid Dates are the same value for this test (Jest compares Dates by getTime, and NaN is never equal to NaN).
// Checked by tag, not instanceof: structuredClone makes its Dates in Node's realm, not the test's.
const isDate = (value: unknown): value is Date => Object.prototype.toString.call(value) === '[object Date]';
expect.addEqualityTesters([(a: unknown, b: unknown) => (isDate(a) && isDate(b) ? Object.is(a.getTime(), b.getTime()) : undefined)]);

describe('memory event store copies', () => {
  it('stores what structuredClone would have stored, for random values', async () => {
    const anything = fc.anything({ withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withBigInt: true, withObjectString: true });
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ maxLength: 5 }), anything, { maxKeys: 5 }), async (data) => {
        const store = makeMemoryEventStore();
        const expected = structuredClone(data);
        await store.appendToStream('s', [{ type: 'T', data: data as NewEvent['data'], metadata }], 'no_stream')();
        const [stored] = await readAll(store);
        expect(stored?.data).toStrictEqual(expected);
      }),
      { seed: 17, numRuns: 500 },
    );
  });

  it('keeps history as appended when the caller mutates its objects afterwards', async () => {
    const store = makeMemoryEventStore();
    const data = { amount: 1, allocation: [{ grantId: 'g', amount: 1 }], purpose: { service: 'llm' } };
    const meta = { ...metadata, correlationId: 'c' };
    await store.appendToStream('s', [{ type: 'T', data, metadata: meta }], 'no_stream')();
    data.amount = 2;
    (data.allocation[0] as { amount: number }).amount = 5;
    data.allocation.push({ grantId: 'h', amount: 1 });
    data.purpose.service = 'video';
    meta.correlationId = 'other';
    const [stored] = await readAll(store);
    expect(stored?.data).toEqual({ amount: 1, allocation: [{ grantId: 'g', amount: 1 }], purpose: { service: 'llm' } });
    expect(stored?.metadata).toEqual({ ...metadata, correlationId: 'c' });
  });

  it('refuses what structuredClone cannot copy', async () => {
    const store = makeMemoryEventStore();
    const data = { f: () => 1 } as unknown as NewEvent['data'];
    await expect(store.appendToStream('s', [{ type: 'T', data, metadata }], 'no_stream')()).rejects.toThrow();
  });
});
