import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import esdb from '@eventstore/db-client';
import type { EventData, Position, ResolvedEvent } from '@eventstore/db-client';
import type { EventMetadata, Json, NewEvent, RecordedEvent } from '../../../application/ports/eventStore.js';

/**
 * Translation between the port's events and EventStoreDB's. Data and metadata
 * travel as JSON; the port's metadata fields become keys of the ESDB metadata
 * object, with the correlation id under EventStoreDB's own `$correlationId`
 * key so the server's UI and projections recognise it.
 */

const EsdbMetadata = t.intersection([
  t.type({ hash: t.string, prevHash: t.string, recordedAt: t.number }),
  t.partial({ $correlationId: t.string }),
]);
type EsdbMetadata = t.TypeOf<typeof EsdbMetadata>;

const LedgerData = t.UnknownRecord;

export const toEsdbEvent = (event: NewEvent): EventData => {
  const metadata: EsdbMetadata = {
    hash: event.metadata.hash,
    prevHash: event.metadata.prevHash,
    recordedAt: event.metadata.recordedAt,
    ...(event.metadata.correlationId === undefined ? {} : { $correlationId: event.metadata.correlationId }),
  };
  return esdb.jsonEvent({ type: event.type, data: event.data, metadata });
};

/** System events (`$statistics-collected`, `$metadata`, links `$>`) and system streams start with `$`. */
export const isSystemEvent = (streamName: string, type: string): boolean =>
  streamName.startsWith('$') || type.startsWith('$');

/**
 * An ESDB `$all` position as one number: its commit position. Events written
 * by the gRPC API are implicit transactions, whose commit and prepare
 * positions are equal, so the commit position alone identifies an event and
 * resumes exactly. 2^53 bytes of transaction log (8 PiB) is beyond any
 * realistic ledger; past it we refuse rather than round.
 */
export const toPortPosition = (position: Position): number => {
  const value = Number(position.commit);
  if (!Number.isSafeInteger(value) || BigInt(value) !== position.commit) {
    throw new Error(`EventStoreDB position ${position.commit.toString()} does not fit a safe integer`);
  }
  return value;
};

/** Where to resume a read or subscription for events at or after `position`. */
export const toEsdbPosition = (position: number): Position => ({
  commit: BigInt(position),
  prepare: BigInt(position),
});

/**
 * The largest unsigned 64-bit value is what servers before 22.10 send for the
 * `$all` position of an event read from its stream: "unknown".
 */
const UNKNOWN_POSITION = 0xffff_ffff_ffff_ffffn;

const describe = (streamId: string, revision: bigint) => `${streamId}@${revision.toString()}`;

/**
 * Decodes one event read from ESDB. An event the ledger did not write (binary,
 * or without our metadata) is reported as an error naming it: an auditor must
 * never have it silently skipped.
 */
export const fromResolvedEvent = (resolved: ResolvedEvent): RecordedEvent => {
  const event = resolved.event;
  if (event === undefined) throw new Error('EventStoreDB returned a read result without an event');
  const where = describe(event.streamId, event.revision);
  if (!event.isJson) throw new Error(`event ${where} is not JSON`);
  const position = event.position;
  if (position === undefined || position.commit === UNKNOWN_POSITION) {
    throw new Error(`EventStoreDB did not report the $all position of ${where}; this adapter needs EventStoreDB 22.10 or later`);
  }
  const data = LedgerData.decode(event.data);
  const metadata = EsdbMetadata.decode(event.metadata);
  if (E.isLeft(data) || E.isLeft(metadata) || Array.isArray(event.data)) {
    throw new Error(`event ${where} does not carry ledger data and metadata`);
  }
  return {
    type: event.type,
    // JSON.parse produced it, so every value in it is JSON.
    data: data.right as { readonly [key: string]: Json },
    metadata: fromEsdbMetadata(metadata.right),
    streamName: event.streamId,
    revision: toRevision(event.revision, where),
    position: toPortPosition(position),
    // The server's own commit time (its "created"), whatever the writer's clock said.
    committedAt: event.created.getTime(),
  };
};

const fromEsdbMetadata = (metadata: EsdbMetadata): EventMetadata => ({
  hash: metadata.hash,
  prevHash: metadata.prevHash,
  recordedAt: metadata.recordedAt,
  ...(metadata.$correlationId === undefined ? {} : { correlationId: metadata.$correlationId }),
});

export const toRevision = (revision: bigint, where: string): number => {
  const value = Number(revision);
  if (!Number.isSafeInteger(value)) throw new Error(`revision of ${where} does not fit a safe integer`);
  return value;
};
