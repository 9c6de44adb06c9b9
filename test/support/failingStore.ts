import type { EventStore, RecordedEvent, SubscribeOptions } from '../../application/ports/eventStore.js';

/**
 * An event store that fails on demand, for outage tests: wraps a real store
 * and, while a failure budget is set for an operation, throws a driver-like
 * error instead of (or, for `appendAfterCommit`, after) calling it. Each
 * failure uses up one unit of the budget, so "fails N times then recovers" is
 * `failNext('append', N)`; `down()` / `up()` make every operation fail until
 * told otherwise. Subscriptions can be ended with `breakSubscriptions()`.
 */
export type FailingOp = 'append' | 'appendAfterCommit' | 'readStream' | 'readAll';

export type FailingStore = EventStore & {
  readonly failNext: (op: FailingOp, times: number, when?: (streamName: string, types: readonly string[]) => boolean) => void;
  readonly down: () => void;
  readonly up: () => void;
  /** How many failures were thrown, per operation. */
  readonly failures: Record<FailingOp, number>;
  /** Ends every live subscription with an error, as a dropped connection would. */
  readonly breakSubscriptions: () => void;
};

const outage = (op: string) => Object.assign(new Error(`connect ECONNREFUSED (simulated ${op} failure)`), { code: 'ECONNREFUSED' });

export const makeFailingStore = (inner: EventStore): FailingStore => {
  const budget: Record<FailingOp, number> = { append: 0, appendAfterCommit: 0, readStream: 0, readAll: 0 };
  const failures: Record<FailingOp, number> = { append: 0, appendAfterCommit: 0, readStream: 0, readAll: 0 };
  const filters: Partial<Record<FailingOp, (streamName: string, types: readonly string[]) => boolean>> = {};
  let isDown = false;
  const live = new Set<{ stop: () => Promise<void>; onError?: (error: unknown) => void }>();

  const take = (op: FailingOp, streamName = '', types: readonly string[] = []): boolean => {
    if (isDown) {
      failures[op] += 1;
      return true;
    }
    const filter = filters[op];
    if (budget[op] <= 0 || (filter !== undefined && !filter(streamName, types))) return false;
    budget[op] -= 1;
    failures[op] += 1;
    return true;
  };

  const guardedRead = (op: 'readStream' | 'readAll', streamName: string, open: () => AsyncIterable<RecordedEvent>): AsyncIterable<RecordedEvent> => ({
    [Symbol.asyncIterator]: () => {
      if (take(op, streamName)) {
        return { next: () => Promise.reject(outage(op)) };
      }
      return open()[Symbol.asyncIterator]();
    },
  });

  return {
    ...inner,
    failures,
    failNext: (op, times, when) => {
      budget[op] = times;
      if (when === undefined) delete filters[op];
      else filters[op] = when;
    },
    down: () => {
      isDown = true;
    },
    up: () => {
      isDown = false;
    },
    breakSubscriptions: () => {
      for (const sub of [...live]) {
        live.delete(sub);
        void sub.stop().then(() => sub.onError?.(outage('subscription')));
      }
    },
    readStream: (name, options) => guardedRead('readStream', name, () => inner.readStream(name, options)),
    readAll: (options) => guardedRead('readAll', '', () => inner.readAll(options)),
    appendToStream: (name, events, expected) => async () => {
      const types = events.map((e) => e.type);
      if (take('append', name, types)) throw outage('append');
      const result = await inner.appendToStream(name, events, expected)();
      // The write committed but the answer was lost: the caller cannot tell it from a failure.
      if (take('appendAfterCommit', name, types)) throw outage('append (after commit)');
      return result;
    },
    subscribeToAll: (handler, options: SubscribeOptions = {}) => {
      const sub = inner.subscribeToAll(handler, options);
      const entry = { stop: sub.stop, ...(options.onError === undefined ? {} : { onError: options.onError }) };
      live.add(entry);
      return {
        caughtUp: sub.caughtUp,
        stop: async () => {
          live.delete(entry);
          await sub.stop();
        },
      };
    },
  };
};
