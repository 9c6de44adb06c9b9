import { createHash } from 'node:crypto';
import type { Json, NewEvent, RecordedEvent } from './ports/eventStore.js';

/**
 * The hash chain. Each event's hash covers its stream, revision, type, data,
 * decision time, correlation id and the previous event's hash, encoded
 * canonically (keys sorted, no whitespace, undefined dropped), so any change,
 * deletion or reordering inside a stream breaks every later link.
 * This is the one place hashes are computed.
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number in event');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
};

export type HashInput = {
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly data: Json;
  readonly recordedAt: number;
  readonly correlationId?: string | undefined;
  readonly prevHash: string;
};

export const eventHash = (input: HashInput): string =>
  createHash('sha256')
    .update(
      canonicalJson({
        stream: input.streamName,
        revision: input.revision,
        type: input.type,
        data: input.data,
        recordedAt: input.recordedAt,
        correlationId: input.correlationId,
        prevHash: input.prevHash,
      }),
    )
    .digest('hex');

/** Seals domain events into store events, continuing the chain after `prevHash` at `firstRevision`. */
export const sealEvents = (
  streamName: string,
  firstRevision: number,
  prevHash: string,
  events: readonly { readonly type: string; readonly data: unknown }[],
  recordedAt: number,
  correlationId?: string,
): { readonly sealed: NewEvent[]; readonly lastHash: string } => {
  const sealed: NewEvent[] = [];
  let previous = prevHash;
  events.forEach((event, i) => {
    const data = event.data as { readonly [key: string]: Json };
    const hash = eventHash({ streamName, revision: firstRevision + i, type: event.type, data, recordedAt, correlationId, prevHash: previous });
    sealed.push({
      type: event.type,
      data,
      metadata: { hash, prevHash: previous, recordedAt, ...(correlationId === undefined ? {} : { correlationId }) },
    });
    previous = hash;
  });
  return { sealed, lastHash: previous };
};

export type ChainBreak = {
  readonly _tag: 'ChainBreak';
  readonly streamName: string;
  readonly revision: number;
  readonly reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'revision_gap';
};

/** The hash an event should carry, recomputed from its content. */
export const recomputeHash = (event: RecordedEvent): string =>
  eventHash({
    streamName: event.streamName,
    revision: event.revision,
    type: event.type,
    data: event.data,
    recordedAt: event.metadata.recordedAt,
    correlationId: event.metadata.correlationId,
    prevHash: event.metadata.prevHash,
  });

/**
 * Checks one recorded event against the previous one of its stream (undefined
 * for the first). `previous.hash` should be the previous event's recomputed
 * hash, so a chain is only as good as its content, not its stored hashes.
 */
export const verifyLink = (
  event: RecordedEvent,
  previous: { revision: number; hash: string } | undefined,
  recomputed: string = recomputeHash(event),
): ChainBreak | undefined => {
  const expectedRevision = previous === undefined ? 0 : previous.revision + 1;
  const brk = (reason: ChainBreak['reason']): ChainBreak => ({ _tag: 'ChainBreak', streamName: event.streamName, revision: event.revision, reason });
  if (event.revision !== expectedRevision) return brk('revision_gap');
  const expectedPrev = previous === undefined ? '' : previous.hash;
  if (event.metadata.prevHash !== expectedPrev) return brk('prev_hash_mismatch');
  return recomputed === event.metadata.hash ? undefined : brk('hash_mismatch');
};
