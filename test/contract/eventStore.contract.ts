import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore, NewEvent, RecordedEvent } from '../../application/ports/eventStore.js';

/**
 * The one EventStore contract every adapter passes (memory, sqlite, esdb,
 * postgres). Each adapter's own test file calls this with a factory.
 */
export type StoreFactory = () => Promise<EventStore>;

export type ContractOptions = {
  /** Events in the "large stream" test; 100k for the real stores. */
  readonly largeStreamEvents?: number;
  /** Time allowed for the large stream test. */
  readonly largeStreamTimeoutMs?: number;
};

let counter = 0;
const uniqueStream = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export const event = (type: string, data: NewEvent['data'] = {}, n = 0): NewEvent => ({
  type,
  data,
  metadata: { hash: `h${n}`, prevHash: n === 0 ? '' : `h${n - 1}`, recordedAt: 1_700_000_000_000 + n },
});

export const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};

const waitFor = async (predicate: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

export const eventStoreContract = (name: string, factory: StoreFactory, options: ContractOptions = {}) => {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    beforeAll(async () => {
      store = await factory();
    });
    afterAll(async () => {
      await store.close();
    });

    it('appends to a new stream with no_stream and reads it back in order', async () => {
      const s = uniqueStream('account');
      const result = await store.appendToStream(s, [event('A', { n: 1 }, 0), event('B', { n: 2 }, 1)], 'no_stream')();
      expect(E.isRight(result)).toBe(true);
      if (E.isRight(result)) expect(result.right.nextExpectedRevision).toBe(1);
      const events = await collect(store.readStream(s));
      expect(events.map((e) => [e.type, e.revision, e.data])).toEqual([
        ['A', 0, { n: 1 }],
        ['B', 1, { n: 2 }],
      ]);
      expect(events[0]?.streamName).toBe(s);
    });

    it('refuses no_stream on an existing stream and reports the actual revision', async () => {
      const s = uniqueStream('account');
      await store.appendToStream(s, [event('A')], 'no_stream')();
      const again = await store.appendToStream(s, [event('B')], 'no_stream')();
      expect(E.isLeft(again)).toBe(true);
      if (E.isLeft(again)) {
        expect(again.left._tag).toBe('WrongExpectedRevision');
        expect(again.left.streamName).toBe(s);
        if (again.left.actual !== undefined) expect(again.left.actual).toBe(0);
      }
      expect(await collect(store.readStream(s))).toHaveLength(1);
    });

    it('appends at the exact revision and refuses a stale or future one', async () => {
      const s = uniqueStream('account');
      await store.appendToStream(s, [event('A', {}, 0)], 'no_stream')();
      const ok = await store.appendToStream(s, [event('B', {}, 1)], 0)();
      expect(E.isRight(ok)).toBe(true);
      const stale = await store.appendToStream(s, [event('C')], 0)();
      const future = await store.appendToStream(s, [event('C')], 5)();
      expect(E.isLeft(stale)).toBe(true);
      expect(E.isLeft(future)).toBe(true);
      const missing = await store.appendToStream(uniqueStream('missing'), [event('C')], 0)();
      expect(E.isLeft(missing)).toBe(true);
      expect((await collect(store.readStream(s))).map((e) => e.type)).toEqual(['A', 'B']);
    });

    it('lets exactly one of several racing writers win each revision', async () => {
      const s = uniqueStream('hot');
      await store.appendToStream(s, [event('Opened')], 'no_stream')();
      const racers = Array.from({ length: 12 }, (_, i) => store.appendToStream(s, [event('Raced', { racer: i })], 0)());
      const results = await Promise.all(racers);
      expect(results.filter(E.isRight)).toHaveLength(1);
      const events = await collect(store.readStream(s));
      expect(events.map((e) => e.revision)).toEqual([0, 1]);
    });

    it('reads nothing for a missing stream', async () => {
      expect(await collect(store.readStream(uniqueStream('nothing')))).toEqual([]);
    });

    it('reads a stream from a revision with a maximum count', async () => {
      const s = uniqueStream('paged');
      const events = Array.from({ length: 10 }, (_, i) => event('E', { i }, i));
      await store.appendToStream(s, events, 'no_stream')();
      const page = await collect(store.readStream(s, { fromRevision: 3, maxCount: 4 }));
      expect(page.map((e) => e.revision)).toEqual([3, 4, 5, 6]);
      expect(await collect(store.readStream(s, { fromRevision: 10 }))).toEqual([]);
    });

    it('keeps data and metadata exactly (nested JSON, unicode, large safe integers)', async () => {
      const s = uniqueStream('json');
      const data = {
        amount: Number.MAX_SAFE_INTEGER,
        nested: { list: [1, 'two', null, true, { deep: 'é€😀' }] },
        empty: '',
      };
      const written: NewEvent = {
        type: 'Weird',
        data,
        metadata: { hash: 'a'.repeat(64), prevHash: '', recordedAt: 1_700_000_000_123, correlationId: 'req-1' },
      };
      await store.appendToStream(s, [written], 'no_stream')();
      const [read] = await collect(store.readStream(s));
      expect(read?.data).toEqual(data);
      expect(read?.metadata).toEqual(written.metadata);
    });

    it('reads all streams in one global order, and from a checkpoint', async () => {
      const a = uniqueStream('a');
      const b = uniqueStream('b');
      const before = await collect(store.readAll());
      const checkpoint = before.length === 0 ? undefined : before[before.length - 1]?.position;
      await store.appendToStream(a, [event('A0')], 'no_stream')();
      await store.appendToStream(b, [event('B0')], 'no_stream')();
      await store.appendToStream(a, [event('A1')], 0)();
      const after = await collect(store.readAll(checkpoint === undefined ? {} : { after: checkpoint }));
      const ours = after.filter((e) => e.streamName === a || e.streamName === b);
      expect(ours.map((e) => e.type)).toEqual(['A0', 'B0', 'A1']);
      const positions = after.map((e) => e.position);
      expect([...positions].sort((x, y) => x - y)).toEqual(positions);
      expect(new Set(positions).size).toBe(positions.length);
      const middle = ours[0] as RecordedEvent;
      const rest = await collect(store.readAll({ after: middle.position }));
      expect(rest.filter((e) => e.streamName === a || e.streamName === b).map((e) => e.type)).toEqual(['B0', 'A1']);
      const limited = await collect(store.readAll({ after: middle.position, maxCount: 1 }));
      expect(limited).toHaveLength(1);
    });

    it('catch-up subscription delivers history, then live appends, in order and once', async () => {
      const s = uniqueStream('sub');
      await store.appendToStream(s, [event('Before')], 'no_stream')();
      const seen: RecordedEvent[] = [];
      const sub = store.subscribeToAll((e) => {
        if (e.streamName === s) seen.push(e);
      });
      await sub.caughtUp;
      expect(seen.map((e) => e.type)).toEqual(['Before']);
      await store.appendToStream(s, [event('Live1')], 0)();
      await store.appendToStream(s, [event('Live2'), event('Live3')], 1)();
      await waitFor(() => seen.length === 4);
      await sub.stop();
      expect(seen.map((e) => e.type)).toEqual(['Before', 'Live1', 'Live2', 'Live3']);
      await store.appendToStream(s, [event('AfterStop')], 3)();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen).toHaveLength(4);
    });

    it('subscription from a checkpoint starts strictly after it', async () => {
      const s = uniqueStream('checkpoint');
      await store.appendToStream(s, [event('One'), event('Two'), event('Three')], 'no_stream')();
      const events = await collect(store.readStream(s));
      const checkpoint = (events[0] as RecordedEvent).position;
      const seen: string[] = [];
      const sub = store.subscribeToAll((e) => {
        if (e.streamName === s) seen.push(e.type);
      }, { after: checkpoint });
      await sub.caughtUp;
      await waitFor(() => seen.length === 2);
      await sub.stop();
      expect(seen).toEqual(['Two', 'Three']);
    });

    it('stamps each event with the store commit time, not the writer clock, non-decreasing in global order', async () => {
      const s = uniqueStream('account');
      const before = Date.now();
      // recordedAt far in the past and in the future: a skewed writer must not move the commit time.
      const skewed = (n: number, recordedAt: number): NewEvent => ({ ...event('A', { n }, n), metadata: { ...event('A', {}, n).metadata, recordedAt } });
      await store.appendToStream(s, [skewed(0, before + 3_600_000)], 'no_stream')();
      await store.appendToStream(s, [skewed(1, before - 3_600_000), skewed(2, 0)], 0)();
      const after = Date.now();
      const events = await collect(store.readStream(s));
      expect(events).toHaveLength(3);
      for (const e of events) {
        expect(Number.isSafeInteger(e.committedAt)).toBe(true);
        // Margins for a store whose clock (a database server) is not this process's.
        expect(e.committedAt).toBeGreaterThanOrEqual(before - 2_000);
        expect(e.committedAt).toBeLessThanOrEqual(after + 2_000);
      }
      const all = await collect(store.readAll());
      for (let i = 1; i < all.length; i++) expect((all[i] as RecordedEvent).committedAt).toBeGreaterThanOrEqual((all[i - 1] as RecordedEvent).committedAt);
      const viaAll = all.filter((e) => e.streamName === s).map((e) => e.committedAt);
      expect(viaAll).toEqual(events.map((e) => e.committedAt));
    });

    const large = options.largeStreamEvents ?? 100_000;
    it(
      `reads a large stream (${large} events) page by page`,
      async () => {
        const s = uniqueStream('large');
        const batch = 5_000;
        for (let i = 0; i < large; i += batch) {
          const events = Array.from({ length: Math.min(batch, large - i) }, (_, j) => event('Tick', { i: i + j }, i + j));
          const result = await store.appendToStream(s, events, i === 0 ? 'no_stream' : i - 1)();
          expect(E.isRight(result)).toBe(true);
        }
        let count = 0;
        let last = -1;
        for await (const e of store.readStream(s)) {
          expect(e.revision).toBe(last + 1);
          last = e.revision;
          count++;
        }
        expect(count).toBe(large);
        const tail = await collect(store.readStream(s, { fromRevision: large - 3 }));
        expect(tail.map((e) => e.data['i'])).toEqual([large - 3, large - 2, large - 1]);
      },
      options.largeStreamTimeoutMs ?? 60_000,
    );
  });
};
