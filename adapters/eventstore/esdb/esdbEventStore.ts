import * as E from 'fp-ts/lib/Either.js';
import esdb from '@eventstore/db-client';
import type { EventStoreDBClient, Position, ResolvedEvent } from '@eventstore/db-client';
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
import { fromResolvedEvent, isSystemEvent, toEsdbEvent, toEsdbPosition, toPortPosition, toRevision } from './esdbEvents.js';
import { drain } from './esdbReads.js';
import { makeEsdbSubscriptions, type ReconnectPolicy } from './esdbSubscription.js';

export type EsdbEventStoreOptions = {
  /** Any connection string the client accepts, e.g. `esdb://localhost:2113?tls=false`. */
  readonly connectionString: string;
  /** Events per gRPC read call; bounds the memory a read holds. Default 1000. */
  readonly readPageSize?: number;
  /** How a subscription reconnects after the connection drops. */
  readonly reconnect?: Partial<ReconnectPolicy>;
};

const defaultReconnect: ReconnectPolicy = { initialDelayMs: 50, maxDelayMs: 5_000, maxAttempts: 30 };

const wrongRevision = (
  streamName: string,
  expected: ExpectedRevision,
  actual: ExpectedRevision | undefined,
): E.Either<WrongExpectedRevision, AppendResult> => E.left({ _tag: 'WrongExpectedRevision', streamName, expected, actual });

/**
 * The EventStoreDB adapter (`EVENT_STORE=esdb://...`). Appends always carry
 * an exact expected revision (never `any`), so two writers can never both
 * spend the same credits; reads page through gRPC; `$all` positions are the
 * server's commit positions (opaque, increasing, with gaps).
 */
export const makeEsdbEventStore = (options: EsdbEventStoreOptions): EventStore => {
  const client: EventStoreDBClient = esdb.EventStoreDBClient.connectionString(options.connectionString);
  const pageSize = options.readPageSize ?? 1000;

  /** The last event of a stream, or undefined when the stream does not exist. */
  const lastEventOf = async (streamName: string): Promise<RecordedEvent | undefined> => {
    try {
      const read = client.readStream(streamName, { direction: esdb.BACKWARDS, fromRevision: esdb.END, maxCount: 1 });
      for await (const resolved of drain<ResolvedEvent>(read)) return fromResolvedEvent(resolved);
      return undefined;
    } catch (error) {
      if (error instanceof esdb.StreamNotFoundError) return undefined;
      throw error;
    }
  };

  // ESDB has no "check the revision, write nothing" call, so an empty append
  // reads the stream's head instead; nothing is written either way.
  const checkRevision = async (streamName: string, expected: ExpectedRevision) => {
    const last = await lastEventOf(streamName);
    const actual: ExpectedRevision = last === undefined ? 'no_stream' : last.revision;
    if (actual !== expected) return wrongRevision(streamName, expected, actual);
    return E.right<WrongExpectedRevision, AppendResult>({
      nextExpectedRevision: last === undefined ? -1 : last.revision,
      position: last === undefined ? -1 : last.position,
    });
  };

  const appendToStream = (streamName: string, events: readonly NewEvent[], expected: ExpectedRevision) => async () => {
    if (events.length === 0) return checkRevision(streamName, expected);
    try {
      const result = await client.appendToStream(streamName, events.map(toEsdbEvent), {
        expectedRevision: expected === 'no_stream' ? esdb.NO_STREAM : BigInt(expected),
      });
      // Only reached with `throwOnAppendFailure=false` in the connection
      // string; the client then does not say reliably what the revision is.
      if (!result.success) return wrongRevision(streamName, expected, undefined);
      return E.right<WrongExpectedRevision, AppendResult>({
        nextExpectedRevision: toRevision(result.nextExpectedRevision, streamName),
        // The server reports the commit position of the last event written;
        // it leaves it out only for an idempotent replay of an earlier write.
        position: result.position === undefined ? -1 : toPortPosition(result.position),
      });
    } catch (error) {
      if (error instanceof esdb.WrongExpectedVersionError) {
        const actual = error.actualVersion;
        return wrongRevision(streamName, expected, typeof actual === 'bigint' ? toRevision(actual, streamName) : 'no_stream');
      }
      throw error;
    }
  };

  async function* readStream(streamName: string, readOptions: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    let next = readOptions.fromRevision ?? 0;
    let remaining = readOptions.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const want = Math.min(pageSize, remaining);
      let got = 0;
      try {
        const page = client.readStream(streamName, { fromRevision: BigInt(next), maxCount: want });
        for await (const resolved of drain<ResolvedEvent>(page)) {
          const event = fromResolvedEvent(resolved);
          got++;
          next = event.revision + 1;
          yield event;
        }
      } catch (error) {
        if (error instanceof esdb.StreamNotFoundError) return;
        throw error;
      }
      remaining -= got;
      if (got < want) return;
    }
  }

  async function* readAll(readOptions: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    // A read from a position includes the event at it; `after` excludes it.
    let from: Position | typeof esdb.START = readOptions.after === undefined ? esdb.START : toEsdbPosition(readOptions.after);
    let skipThrough = readOptions.after;
    let remaining = readOptions.maxCount ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      let got = 0;
      let last: Position | undefined;
      for await (const resolved of drain<ResolvedEvent>(client.readAll({ fromPosition: from, maxCount: pageSize }))) {
        got++;
        const raw = resolved.event;
        if (raw?.position === undefined) continue;
        last = raw.position;
        if (isSystemEvent(raw.streamId, raw.type)) continue;
        if (skipThrough !== undefined && toPortPosition(raw.position) <= skipThrough) continue;
        yield fromResolvedEvent(resolved);
        if (--remaining === 0) return;
      }
      if (got < pageSize || last === undefined) return;
      from = last;
      skipThrough = toPortPosition(last);
    }
  }

  const subscriptions = makeEsdbSubscriptions(client, { ...defaultReconnect, ...options.reconnect });

  return {
    kind: 'esdb',
    readStream,
    appendToStream,
    readAll,
    subscribeToAll: subscriptions.subscribe,
    close: async () => {
      await subscriptions.closeAll();
      await client.dispose();
    },
  };
};
