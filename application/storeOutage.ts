import type { EventStore, RecordedEvent } from './ports/eventStore.js';

/**
 * The event store being down, as one typed error. Store adapters throw
 * whatever their driver throws (SQLITE_BUSY, ECONNREFUSED, a gRPC status);
 * `guardEventStore` wraps the port once, at the composition root, so every
 * failure of a store operation reaches the application and the protocol
 * adapters as an `EventStoreUnavailable`. Rules of money never see it: it is
 * thrown (an outage, not a business outcome), and the REST and WebSocket
 * adapters map it to a retryable 503 / SERVICE_UNAVAILABLE.
 *
 * Errors raised by the code that consumes a read (a corrupt event, a
 * concurrency give-up) are not the store's and are left alone.
 */
export type EventStoreUnavailable = Error & {
  readonly _tag: 'EventStoreUnavailable';
  /** The port operation that failed ("append", "readStream", ...). */
  readonly operation: string;
};

export const eventStoreUnavailable = (operation: string, cause: unknown): EventStoreUnavailable =>
  Object.assign(new Error(`event store unavailable during ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }), {
    _tag: 'EventStoreUnavailable' as const,
    operation,
  });

export const isEventStoreUnavailable = (error: unknown): error is EventStoreUnavailable =>
  error instanceof Error && (error as { _tag?: unknown })._tag === 'EventStoreUnavailable';

const classify = (operation: string, error: unknown): EventStoreUnavailable =>
  isEventStoreUnavailable(error) ? error : eventStoreUnavailable(operation, error);

/** Re-throws every failure of the inner iteration as EventStoreUnavailable. */
const guardIterable = (operation: string, open: () => AsyncIterable<RecordedEvent>): AsyncIterable<RecordedEvent> => ({
  [Symbol.asyncIterator]: () => {
    let inner: AsyncIterator<RecordedEvent>;
    try {
      inner = open()[Symbol.asyncIterator]();
    } catch (error) {
      throw classify(operation, error);
    }
    return {
      next: () => inner.next().catch((error: unknown) => Promise.reject(classify(operation, error))),
      return: async (value?: unknown) => {
        await inner.return?.(value).catch(() => undefined);
        return { done: true as const, value: undefined };
      },
    };
  },
});

/** The same store, with every operational failure classified once. Extra members of the adapter are kept. */
export const guardEventStore = (store: EventStore): EventStore => ({
  ...store,
  readStream: (streamName, options) => guardIterable('readStream', () => store.readStream(streamName, options)),
  readAll: (options) => guardIterable('readAll', () => store.readAll(options)),
  appendToStream: (streamName, events, expected) => () =>
    store
      .appendToStream(streamName, events, expected)()
      .catch((error: unknown) => Promise.reject(classify('append', error))),
  subscribeToAll: (handler, options = {}) =>
    store.subscribeToAll(handler, {
      ...options,
      ...(options.onError === undefined ? {} : { onError: (error: unknown) => options.onError?.(classify('subscribe', error)) }),
    }),
});
