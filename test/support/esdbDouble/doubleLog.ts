import { randomUUID } from 'node:crypto';

/**
 * TEST DOUBLE, not a database: the in-memory transaction log behind the
 * EventStoreDB test double (see ./esdbDouble.ts and docs/esdb.md).
 *
 * It keeps what our adapter relies on from the real log: one global order;
 * positions that grow like byte offsets (opaque, increasing, with gaps, and
 * commit = prepare as for every event written through gRPC); gapless 0-based
 * revisions per stream; optimistic concurrency checked atomically per write;
 * and system events (`$`-prefixed types and streams) mixed into `$all`, as a
 * real server writes them.
 */

export type StoredEvent = {
  readonly id: string;
  readonly streamName: string;
  readonly revision: number;
  /** Commit and prepare position (equal for implicit transactions). */
  readonly position: number;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  /** Ticks (100 ns) since the Unix epoch, as the server reports "created". */
  readonly createdTicks: string;
};

export type ProposedEvent = {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
};

export type Expected = { readonly _tag: 'Any' } | { readonly _tag: 'NoStream' } | { readonly _tag: 'StreamExists' } | { readonly _tag: 'Revision'; readonly revision: number };

/** The stream's last revision, or undefined when it does not exist. */
export type Current = number | undefined;

export type AppendOutcome =
  | { readonly _tag: 'Written'; readonly currentRevision: number; readonly position: number }
  | { readonly _tag: 'WrongExpectedVersion'; readonly current: Current };

const recordOverheadBytes = 96;

export const makeDoubleLog = (options: { readonly systemEventEvery: number }) => {
  const all: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  const listeners = new Set<() => void>();
  // Start past a "header", as a real log does, so position 0 is never an event.
  let nextPosition = 4096;
  let userWrites = 0;

  const store = (streamName: string, event: ProposedEvent): StoredEvent => {
    const stream = streams.get(streamName) ?? [];
    const stored: StoredEvent = {
      ...event,
      streamName,
      revision: stream.length,
      position: nextPosition,
      createdTicks: (BigInt(Date.now()) * 10_000n).toString(),
    };
    nextPosition += recordOverheadBytes + streamName.length + event.type.length + event.data.length + event.customMetadata.length;
    stream.push(stored);
    streams.set(streamName, stream);
    all.push(stored);
    return stored;
  };

  const current = (streamName: string): Current => {
    const stream = streams.get(streamName);
    return stream === undefined ? undefined : stream.length - 1;
  };

  const accepts = (expected: Expected, actual: Current): boolean => {
    switch (expected._tag) {
      case 'Any':
        return true;
      case 'NoStream':
        return actual === undefined;
      case 'StreamExists':
        return actual !== undefined;
      case 'Revision':
        return actual === expected.revision;
    }
  };

  const systemEvent = (type: string): ProposedEvent => ({
    id: randomUUID(),
    type,
    contentType: 'application/json',
    data: Buffer.from(JSON.stringify({ writtenBy: 'esdb test double' })),
    customMetadata: new Uint8Array(),
  });

  /** Checks and writes in one synchronous step: the double's atomicity. */
  const append = (streamName: string, expected: Expected, events: readonly ProposedEvent[]): AppendOutcome => {
    const actual = current(streamName);
    if (!accepts(expected, actual)) return { _tag: 'WrongExpectedVersion', current: actual };
    let last: StoredEvent | undefined;
    for (const event of events) last = store(streamName, event);
    if (last === undefined) {
      // An empty write succeeds without writing, reporting the stream as it is.
      return { _tag: 'Written', currentRevision: actual ?? -1, position: Math.max(0, nextPosition - 1) };
    }
    userWrites++;
    if (options.systemEventEvery > 0 && userWrites % options.systemEventEvery === 0) {
      store('$stats-127.0.0.1:2113', systemEvent('$statistics-collected'));
    }
    for (const notify of [...listeners]) notify();
    return { _tag: 'Written', currentRevision: last.revision, position: last.position };
  };

  /** Index of the first event at or after `position` in `$all`. */
  const indexAtOrAfter = (position: number): number => {
    let low = 0;
    let high = all.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((all[middle] as StoredEvent).position < position) low = middle + 1;
      else high = middle;
    }
    return low;
  };

  // A real server writes a few system events when it first starts.
  store('$users', systemEvent('$UserCreated'));
  store('$user-admin', systemEvent('$User'));
  store('$$$scavenges', systemEvent('$metadata'));

  return {
    append,
    current,
    stream: (streamName: string): readonly StoredEvent[] | undefined => streams.get(streamName),
    all: (): readonly StoredEvent[] => all,
    indexAtOrAfter,
    /** Calls `listener` after every successful write; returns the unsubscribe. */
    onAppend: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};

export type DoubleLog = ReturnType<typeof makeDoubleLog>;
