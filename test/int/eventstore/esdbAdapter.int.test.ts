import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import esdb from '@eventstore/db-client';
import type { EventStore, NewEvent, RecordedEvent } from '../../../application/ports/eventStore.js';
import { makeEsdbEventStore } from '../../../adapters/eventstore/esdb/index.js';
import { collect, event } from '../../contract/eventStore.contract.js';
import { startEsdbDouble, type EsdbDouble } from '../../support/esdbDouble/esdbDouble.js';

/**
 * What the EventStoreDB adapter promises beyond the shared contract, checked
 * through the real client against the ESDB TEST DOUBLE (not a real server):
 * the wrong-expected-version mapping on both append protocols, metadata
 * layout, system events kept out, catch-up with and without the server's
 * caught-up message, and subscriptions that survive dropped connections.
 */

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${(counter++).toString(36)}`;

const waitFor = async (predicate: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const fastReconnect = { initialDelayMs: 10, maxDelayMs: 100, maxAttempts: 50 };

describe.each([
  ['BatchAppend', true],
  ['Append', false],
])('esdb adapter over %s (test double)', (_name, batchAppend) => {
  let double: EsdbDouble;
  let store: EventStore;
  beforeAll(async () => {
    double = await startEsdbDouble({ batchAppend });
    store = makeEsdbEventStore({ connectionString: double.url });
  });
  afterAll(async () => {
    await store.close();
    await double.stop();
  });

  it('maps the client WrongExpectedVersionError to WrongExpectedRevision with the actual revision', async () => {
    const s = unique('wev');
    const before = double.stats();
    expect(E.isRight(await store.appendToStream(s, [event('A', {}, 0), event('B', {}, 1)], 'no_stream')())).toBe(true);

    expect(await store.appendToStream(s, [event('C')], 'no_stream')()).toEqual(
      E.left({ _tag: 'WrongExpectedRevision', streamName: s, expected: 'no_stream', actual: 1 }),
    );
    expect(await store.appendToStream(s, [event('C')], 0)()).toEqual(
      E.left({ _tag: 'WrongExpectedRevision', streamName: s, expected: 0, actual: 1 }),
    );
    const missing = unique('missing');
    expect(await store.appendToStream(missing, [event('C')], 3)()).toEqual(
      E.left({ _tag: 'WrongExpectedRevision', streamName: missing, expected: 3, actual: 'no_stream' }),
    );
    const after = double.stats();
    // Each protocol path really ran (the client picks one from the server's features).
    if (batchAppend) expect(after.batchAppends - before.batchAppends).toBe(4);
    else expect(after.appendCalls - before.appendCalls).toBe(4);
    expect((await collect(store.readStream(s))).map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('checks the expected revision of an empty append without writing', async () => {
    const s = unique('empty');
    expect(await store.appendToStream(s, [], 'no_stream')()).toEqual(E.right({ nextExpectedRevision: -1, position: -1 }));
    expect(E.isLeft(await store.appendToStream(s, [], 0)())).toBe(true);
    await store.appendToStream(s, [event('A')], 'no_stream')();
    const [only] = await collect(store.readStream(s));
    expect(await store.appendToStream(s, [], 0)()).toEqual(E.right({ nextExpectedRevision: 0, position: only?.position }));
    expect(await store.appendToStream(s, [], 'no_stream')()).toEqual(
      E.left({ _tag: 'WrongExpectedRevision', streamName: s, expected: 'no_stream', actual: 0 }),
    );
  });

  it('reports the position of the last appended event, as read back from $all', async () => {
    const s = unique('position');
    const result = await store.appendToStream(s, [event('A'), event('B'), event('C')], 'no_stream')();
    const events = await collect(store.readStream(s));
    expect(result).toEqual(E.right({ nextExpectedRevision: 2, position: events[2]?.position }));
    const fromAll = (await collect(store.readAll({ after: (events[0] as RecordedEvent).position }))).filter((e) => e.streamName === s);
    expect(fromAll.map((e) => [e.type, e.position])).toEqual([
      ['B', events[1]?.position],
      ['C', events[2]?.position],
    ]);
  });
});

describe('esdb adapter: metadata, system events, caught-up (test double)', () => {
  let double: EsdbDouble;
  let store: EventStore;
  beforeAll(async () => {
    // A system event after every append, so $all interleaves them densely.
    double = await startEsdbDouble({ systemEventEvery: 1 });
    store = makeEsdbEventStore({ connectionString: double.url, readPageSize: 7 });
  });
  afterAll(async () => {
    await store.close();
    await double.stop();
  });

  it('writes the port metadata as ESDB metadata JSON, correlation id as $correlationId', async () => {
    const s = unique('meta');
    const written: NewEvent = {
      type: 'Granted',
      data: { amount: 5 },
      metadata: { hash: 'ab', prevHash: '', recordedAt: 1_700_000_000_000, correlationId: 'req-9' },
    };
    await store.appendToStream(s, [written], 'no_stream')();
    const raw = esdb.EventStoreDBClient.connectionString(double.url);
    const [resolved] = await collect(raw.readStream(s));
    await raw.dispose();
    expect(resolved?.event?.isJson).toBe(true);
    expect(resolved?.event?.metadata).toEqual({ hash: 'ab', prevHash: '', recordedAt: 1_700_000_000_000, $correlationId: 'req-9' });
    expect(resolved?.event?.data).toEqual({ amount: 5 });
  });

  it('has the double answer a missing stream as the server does, so the client raises StreamNotFoundError', async () => {
    const raw = esdb.EventStoreDBClient.connectionString(double.url);
    try {
      await expect(collect(raw.readStream(unique('absent')))).rejects.toBeInstanceOf(esdb.StreamNotFoundError);
    } finally {
      await raw.dispose();
    }
  });

  it('keeps system events out of readAll and subscriptions, across small pages', async () => {
    const s = unique('sys');
    for (let i = 0; i < 10; i++) await store.appendToStream(s, [event('E', { i })], i === 0 ? 'no_stream' : i - 1)();
    const all = await collect(store.readAll());
    expect(all.some((e) => e.streamName.startsWith('$') || e.type.startsWith('$'))).toBe(false);
    expect(all.filter((e) => e.streamName === s).map((e) => e.data['i'])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const seen: RecordedEvent[] = [];
    const sub = store.subscribeToAll((e) => {
      seen.push(e);
    });
    await sub.caughtUp;
    await sub.stop();
    expect(seen.map((e) => e.position)).toEqual(all.map((e) => e.position));
  });

  it.each([true, false])('resolves caughtUp after all history was handled (server caught-up signal: %s)', async (signal) => {
    const local = await startEsdbDouble({ caughtUpSignal: signal });
    const localStore = makeEsdbEventStore({ connectionString: local.url });
    try {
      const s = unique('caught');
      const history = Array.from({ length: 300 }, (_, i) => event('H', { i }, i));
      await localStore.appendToStream(s, history, 'no_stream')();
      let handled = 0;
      const sub = localStore.subscribeToAll(async (e) => {
        // A slow handler at the end of history, while the client already
        // buffers the last events and the caught-up message: caughtUp must
        // wait for the handler, not for the network.
        if (e.revision >= 250) await new Promise((resolve) => setTimeout(resolve, 1));
        handled++;
      });
      await sub.caughtUp;
      expect(handled).toBe(300);
      await sub.stop();
    } finally {
      await localStore.close();
      await local.stop();
    }
  });
});

describe('esdb adapter: subscriptions and dropped connections (test double)', () => {
  let double: EsdbDouble;
  let store: EventStore;
  let writer: EventStore;
  beforeAll(async () => {
    double = await startEsdbDouble();
    store = makeEsdbEventStore({ connectionString: double.url, reconnect: fastReconnect });
    writer = makeEsdbEventStore({ connectionString: double.url });
  });
  afterAll(async () => {
    await writer.close();
    await store.close();
    await double.stop();
  });

  /**
   * Appends revision `revision` exactly once even if the connection drops
   * mid-call: the expected revision tells a lost reply from a lost write.
   */
  const appendOnce = async (s: string, revision: number) => {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        const result = await writer.appendToStream(s, [event('Tick', { revision }, revision)], revision === 0 ? 'no_stream' : revision - 1)();
        if (E.isRight(result) || result.left.actual === revision) return;
        throw new Error(`unexpected conflict at ${revision}: ${JSON.stringify(result.left)}`);
      } catch (error) {
        if (String(error).includes('unexpected conflict')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    throw new Error(`could not append revision ${revision}`);
  };

  it('survives dropped connections and resumes from its checkpoint without duplicates or gaps', async () => {
    const s = unique('resume');
    const total = 400;
    for (let revision = 0; revision < 100; revision++) await appendOnce(s, revision);
    const seen: RecordedEvent[] = [];
    const errors: unknown[] = [];
    const startsBefore = double.stats().subscriptionStarts.length;
    const sub = store.subscribeToAll(
      async (e) => {
        if (e.streamName !== s) return;
        seen.push(e);
        // Slow enough that drops land mid-stream, with events still in flight.
        if (seen.length % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      },
      { onError: (error) => errors.push(error) },
    );
    await sub.caughtUp;
    const writing = (async () => {
      for (let revision = 100; revision < total; revision++) await appendOnce(s, revision);
    })();
    for (let drop = 0; drop < 5; drop++) {
      const reached = seen.length;
      await waitFor(() => seen.length > reached + 20 || seen.length === total);
      double.dropConnections();
    }
    await writing;
    await waitFor(() => seen.length >= total);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sub.stop();

    expect(errors).toEqual([]);
    expect(seen.map((e) => e.revision)).toEqual(Array.from({ length: total }, (_, i) => i));
    const positions = seen.map((e) => e.position);
    expect(positions.every((p, i) => i === 0 || p > (positions[i - 1] as number))).toBe(true);
    // It really resubscribed, each time from a position it had handled, never from the start.
    const resumes = double.stats().subscriptionStarts.slice(startsBefore + 1);
    expect(resumes.length).toBeGreaterThanOrEqual(5);
    const handled = new Set(positions);
    for (const from of resumes) expect(typeof from === 'number' && handled.has(from)).toBe(true);
  }, 30_000);

  it('gives up with onError when the server is gone for good', async () => {
    const gone = await startEsdbDouble();
    const orphan = makeEsdbEventStore({
      connectionString: gone.url,
      reconnect: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 },
    });
    const errors: unknown[] = [];
    const sub = orphan.subscribeToAll(() => undefined, { onError: (error) => errors.push(error) });
    await sub.caughtUp;
    await gone.stop();
    await waitFor(() => errors.length === 1);
    await sub.stop();
    await orphan.close();
    expect(errors).toHaveLength(1);
  });

  it('ends the subscription with onError when the handler fails, without retrying the event', async () => {
    const s = unique('failing');
    await writer.appendToStream(s, [event('Boom')], 'no_stream')();
    const errors: unknown[] = [];
    let calls = 0;
    const sub = store.subscribeToAll(
      (e) => {
        if (e.streamName !== s) return;
        calls++;
        throw new Error('handler broke');
      },
      { onError: (error) => errors.push(error) },
    );
    await sub.caughtUp;
    await waitFor(() => errors.length === 1);
    await sub.stop();
    expect(calls).toBe(1);
    expect(String(errors[0])).toContain('handler broke');
  });
});
