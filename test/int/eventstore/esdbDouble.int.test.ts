import { afterAll } from '@jest/globals';
import { makeEsdbEventStore } from '../../../adapters/eventstore/esdb/index.js';
import { eventStoreContract } from '../../contract/eventStore.contract.js';
import { startEsdbDouble, type EsdbDouble, type EsdbDoubleOptions } from '../../support/esdbDouble/esdbDouble.js';

/**
 * The EventStore contract for the EventStoreDB adapter, driven through the
 * real @eventstore/db-client over real gRPC against the ESDB TEST DOUBLE in
 * test/support/esdbDouble (not a real server: see docs/esdb.md). The same
 * suite runs against a real server in esdbReal.int.test.ts when ESDB_URL is set.
 *
 * The large-stream test uses 20,000 events here instead of 100,000: client
 * and double share one process, so every event is encoded and decoded twice
 * on the same core (about 0.35 ms per event under Jest), and 100k would take
 * about 40 s. The real-server run uses the full 100,000.
 */
const doubles: EsdbDouble[] = [];

const onDouble = (options: EsdbDoubleOptions) => async () => {
  const double = await startEsdbDouble(options);
  doubles.push(double);
  return makeEsdbEventStore({ connectionString: double.url });
};

afterAll(async () => {
  await Promise.all(doubles.map((double) => double.stop()));
});

// BatchAppend is what the client uses against EventStoreDB 21.10 and later.
eventStoreContract('esdb (test double, BatchAppend)', onDouble({}), { largeStreamEvents: 20_000, largeStreamTimeoutMs: 60_000 });

// The client falls back to the client-streaming Append on servers without
// BatchAppend; the same contract holds there (large stream kept short).
eventStoreContract('esdb (test double, Append, no caught-up signal)', onDouble({ batchAppend: false, caughtUpSignal: false }), {
  largeStreamEvents: 2_000,
});
