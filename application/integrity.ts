import * as nodeCrypto from 'node:crypto';
import { makeHashKernel } from './hashKernel.js';
import type { Json, NewEvent, RecordedEvent } from './ports/eventStore.js';

/**
 * The hash chain. Each event's hash covers its stream, revision, type, data,
 * decision time, correlation id and the previous event's hash, encoded
 * canonically (keys sorted, no whitespace, undefined dropped), so any change,
 * deletion or reordering inside a stream breaks every later link.
 * The encodings and hashes themselves live in hashKernel.ts, the one place
 * hashes are computed (shared with the hashing worker threads).
 */
const kernel = makeHashKernel(nodeCrypto);
const { isCanonicalShape, chainText, sha256Hex } = kernel;

export const canonicalJson: (value: unknown) => string = kernel.canonicalJson;

/** The value with object keys in sorted order and undefined dropped (a copy when it was not so already): how events are written. */
export const sortKeys = <T>(value: T): T => {
  if (isCanonicalShape(value)) return value;
  return rebuildSorted(value) as T;
};

const rebuildSorted = (value: unknown): unknown => {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number in event');
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : rebuildSorted(item)));
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item !== undefined) out[key] = rebuildSorted(item);
  }
  return out;
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

export const eventHash = (input: HashInput): string => sha256Hex(chainText(input));

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
    const data = sortKeys(event.data) as { readonly [key: string]: Json };
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
