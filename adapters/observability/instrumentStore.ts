import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { EventStore } from '../../application/ports/eventStore.js';

/**
 * An EventStore decorator that times appends and counts optimistic-concurrency
 * conflicts, for every store alike, without touching the stores. It also
 * tells a listener each appended position (the projection's lag).
 */
export const instrumentEventStore = (store: EventStore, registry: Registry, onAppended?: (position: number) => void): EventStore => {
  const latency = new Histogram({
    name: 'event_store_append_duration_seconds',
    help: 'Time to append to a stream, by store and result (ok, conflict, error).',
    labelNames: ['store', 'result'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const conflicts = new Counter({ name: 'event_store_append_conflicts_total', help: 'Appends refused because the stream had moved (wrong expected revision).', labelNames: ['store'] as const, registers: [registry] });
  const kind = store.kind;
  return {
    ...store,
    kind,
    readStream: (name, options) => store.readStream(name, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (handler, options) => store.subscribeToAll(handler, options),
    close: () => store.close(),
    appendToStream: (name, events, expected) => () => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      return pipe(
        store.appendToStream(name, events, expected),
        TE.bimap(
          (conflict) => {
            conflicts.inc({ store: kind });
            latency.observe({ store: kind, result: 'conflict' }, seconds());
            return conflict;
          },
          (result) => {
            latency.observe({ store: kind, result: 'ok' }, seconds());
            onAppended?.(result.position);
            return result;
          },
        ),
      )().catch((error: unknown) => {
        latency.observe({ store: kind, result: 'error' }, seconds());
        throw error;
      });
    },
  };
};
