import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../../../application/ports/eventStore.js';
import { openEventStore } from '../../../adapters/eventstore/fromUrl.js';
import { collect, event } from '../../contract/eventStore.contract.js';
import { startEsdbDouble, type EsdbDouble } from '../../support/esdbDouble/esdbDouble.js';

/**
 * EVENT_STORE=kurrentdb://... through openEventStore, against the gRPC double:
 * the scheme is accepted, the connection probe passes on a live server, and
 * the store it returns appends and reads.
 */
let double: EsdbDouble;
const opened: EventStore[] = [];
beforeAll(async () => {
  double = await startEsdbDouble({});
});
afterAll(async () => {
  for (const store of opened) await store.close();
  await double.stop();
});

describe('openEventStore with KurrentDB URLs', () => {
  it.each(['kurrentdb', 'esdb'])('%s:// opens, probes the server and works', async (scheme) => {
    const url = double.url.replace(/^esdb:\/\//, `${scheme}://`);
    const store = await openEventStore(url, { connectTimeoutMs: 5000 });
    opened.push(store);
    const stream = `from-url-${scheme}-${Date.now()}`;
    const appended = await store.appendToStream(stream, [event('Opened', { n: 1 })], 'no_stream')();
    expect(E.isRight(appended)).toBe(true);
    expect((await collect(store.readStream(stream))).map((e) => e.type)).toEqual(['Opened']);
  });
});
