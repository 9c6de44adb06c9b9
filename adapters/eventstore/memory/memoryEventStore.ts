import * as E from 'fp-ts/lib/Either.js';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  WrongExpectedRevision,
} from '../../../application/ports/eventStore.js';
import { makeLiveFeed } from '../shared/liveFeed.js';

/**
 * The in-memory store: fast, for tests and `EVENT_STORE=memory:`. It keeps the
 * same guarantees as the durable stores (expected revisions, global order,
 * catch-up subscriptions) so one contract suite can hold them all to account.
 */
export type MemoryEventStoreOptions = {
  /** The store's own clock for commit times (ms). Default Date.now; tests pass a fake one. */
  readonly now?: () => number;
};

/**
 * A deep copy of event data or metadata, so later mutation by the caller
 * cannot rewrite history. Plain JSON (what every writer appends) is copied
 * by hand, several times faster than structuredClone for the small records
 * events are; anything else (a Date, a Map, a class instance) still goes
 * through structuredClone, so the copy is the one structuredClone makes.
 */
const copyJson = (value: unknown): unknown => {
  if (typeof value === 'function' || typeof value === 'symbol') return structuredClone(value); // throws DataCloneError, as before
  if (typeof value !== 'object' || value === null) return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    const array = value as readonly unknown[];
    const copy: unknown[] = new Array<unknown>(array.length);
    for (let i = 0; i < array.length; i++) {
      if (!(i in array)) return structuredClone(value);
      copy[i] = copyJson(array[i]);
    }
    return copy;
  }
  if (proto !== Object.prototype) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyJson((value as Record<string, unknown>)[key]);
  return copy;
};

export const makeMemoryEventStore = (options: MemoryEventStoreOptions = {}): EventStore => {
  const now = options.now ?? Date.now;
  const all: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const feed = makeLiveFeed();

  const lastRevision = (name: string): ExpectedRevision => {
    const stream = streams.get(name);
    return stream === undefined || stream.length === 0 ? 'no_stream' : stream.length - 1;
  };

  const appendToStream = (name: string, events: readonly NewEvent[], expected: ExpectedRevision) => async () => {
    const actual = lastRevision(name);
    if (actual !== expected) {
      const error: WrongExpectedRevision = { _tag: 'WrongExpectedRevision', streamName: name, expected, actual };
      return E.left(error);
    }
    if (events.length === 0) {
      return E.right<WrongExpectedRevision, AppendResult>({
        nextExpectedRevision: actual === 'no_stream' ? -1 : actual,
        position: all.length - 1,
      });
    }
    const stream = streams.get(name) ?? [];
    // One commit time per append, never before the previous commit: the global order is also the order of commit times.
    const committedAt = Math.max(now(), all[all.length - 1]?.committedAt ?? Number.NEGATIVE_INFINITY);
    for (const event of events) {
      const recorded: RecordedEvent = {
        // Deep copy so later mutation by the caller cannot rewrite history.
        type: event.type,
        data: copyJson(event.data) as NewEvent['data'],
        metadata: copyJson(event.metadata) as NewEvent['metadata'],
        streamName: name,
        revision: stream.length,
        position: all.length,
        committedAt,
      };
      stream.push(recorded);
      all.push(recorded);
    }
    streams.set(name, stream);
    feed.notify();
    return E.right<WrongExpectedRevision, AppendResult>({
      nextExpectedRevision: stream.length - 1,
      position: all.length - 1,
    });
  };

  async function* readStream(name: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const stream = streams.get(name) ?? [];
    const from = options.fromRevision ?? 0;
    const until = options.maxCount === undefined ? stream.length : Math.min(stream.length, from + options.maxCount);
    for (let i = from; i < until; i++) yield stream[i] as RecordedEvent;
  }

  async function* readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const from = options.after === undefined ? 0 : options.after + 1;
    const limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    let yielded = 0;
    for (let i = from; i < all.length && yielded < limit; i++, yielded++) yield all[i] as RecordedEvent;
  }

  return {
    kind: 'memory',
    readStream,
    appendToStream,
    readAll,
    subscribeToAll: (handler, options = {}) => feed.subscribe(readAll, handler, options),
    close: async () => feed.closeAll(),
  };
};
