import type * as TE from 'fp-ts/lib/TaskEither.js';

/**
 * The EventStore port: the only way the application reaches persisted events.
 * Every adapter (memory, sqlite, esdb, postgres) passes the same contract suite
 * in test/contract/eventStore.contract.ts.
 */

/** JSON that survives a round trip through any store unchanged. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

export type EventMetadata = {
  /** SHA-256 (hex) of this event chained to the previous one of its stream; see application/integrity.ts. */
  readonly hash: string;
  /** Hash of the previous event of the stream ('' for the first). */
  readonly prevHash: string;
  /** When the application decided the event (ms since epoch, from the Clock port). */
  readonly recordedAt: number;
  /** Optional correlation id (a request id) for tracing. */
  readonly correlationId?: string;
};

export type NewEvent = {
  readonly type: string;
  readonly data: { readonly [key: string]: Json };
  readonly metadata: EventMetadata;
};

export type RecordedEvent = NewEvent & {
  readonly streamName: string;
  /** 0-based, gapless within a stream. */
  readonly revision: number;
  /**
   * Position in the store's global order. Strictly increasing in `readAll`
   * order; gapless for memory/sqlite/postgres, opaque-but-monotonic for ESDB.
   */
  readonly position: number;
  /**
   * When the store committed the event (ms since epoch), by the store's own
   * clock, never the writer's: memory and SQLite take it inside the write
   * (SQLite inside its write transaction), PostgreSQL from the server's clock
   * under the append lock, EventStoreDB from the server's `created`. Memory,
   * SQLite and PostgreSQL never let it go backwards along the global order,
   * so "the history at T" is always a prefix of that order.
   */
  readonly committedAt: number;
};

/**
 * What the writer believes the stream's last revision is. There is no `any`:
 * money streams are always appended against a known revision.
 */
export type ExpectedRevision = 'no_stream' | number;

export type AppendResult = {
  /** Revision of the last appended event. */
  readonly nextExpectedRevision: number;
  /** Global position of the last appended event. */
  readonly position: number;
};

export type WrongExpectedRevision = {
  readonly _tag: 'WrongExpectedRevision';
  readonly streamName: string;
  readonly expected: ExpectedRevision;
  /** The stream's actual last revision, or 'no_stream'; undefined when the store cannot tell. */
  readonly actual: ExpectedRevision | undefined;
};

export type ReadStreamOptions = {
  /** First revision to return (inclusive). Default 0. */
  readonly fromRevision?: number;
  /** Upper bound on events returned in total. */
  readonly maxCount?: number;
};

export type ReadAllOptions = {
  /** Return events strictly after this position; omitted = from the start. */
  readonly after?: number;
  readonly maxCount?: number;
};

export type Subscription = {
  /** Resolves once the catch-up phase has delivered everything committed at subscribe time. */
  readonly caughtUp: Promise<void>;
  /** Stops delivery; resolves when no handler call is running any more. */
  readonly stop: () => Promise<void>;
};

export type SubscribeOptions = {
  readonly after?: number;
  /** Called on a failure that ended the subscription (the store went away for good). */
  readonly onError?: (error: unknown) => void;
};

export type EventStore = {
  /** A short name for logs and /health ("memory", "sqlite", ...). */
  readonly kind: string;
  /**
   * Reads a stream in revision order, in pages, without loading the whole
   * stream at once. A missing stream yields nothing.
   */
  readonly readStream: (streamName: string, options?: ReadStreamOptions) => AsyncIterable<RecordedEvent>;
  /** Appends atomically if the stream is at `expected`; otherwise a WrongExpectedRevision. */
  readonly appendToStream: (
    streamName: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ) => TE.TaskEither<WrongExpectedRevision, AppendResult>;
  /** Reads every stream in global order, in pages. */
  readonly readAll: (options?: ReadAllOptions) => AsyncIterable<RecordedEvent>;
  /**
   * Catch-up subscription: delivers everything after `after`, then follows live
   * appends, one event at a time and in global order. The handler is awaited.
   */
  readonly subscribeToAll: (
    handler: (event: RecordedEvent) => Promise<void> | void,
    options?: SubscribeOptions,
  ) => Subscription;
  /** Releases connections, files and timers. */
  readonly close: () => Promise<void>;
};
