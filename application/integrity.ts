import * as nodeCrypto from 'node:crypto';
import type { Json, NewEvent, RecordedEvent } from './ports/eventStore.js';

/**
 * The hash chain. Each event's hash covers its stream, revision, type, data,
 * decision time, correlation id and the previous event's hash, encoded
 * canonically (keys sorted, no whitespace, undefined dropped), so any change,
 * deletion or reordering inside a stream breaks every later link.
 * This is the one place hashes are computed.
 */
const slowCanonical = (value: unknown): string => {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('non-finite number in event');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const item: unknown = value[i];
          out += item === undefined ? 'null' : slowCanonical(item);
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const item = record[key];
        if (item === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${slowCanonical(item)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return 'null';
  }
};

/**
 * True when JSON.stringify already yields the canonical form: every object's
 * keys are in sorted order, nothing is undefined, every number is finite.
 * Events are written with sorted keys (see `sortKeys`), and order-preserving
 * stores hand them back that way, so the common case is one walk plus one
 * native JSON.stringify instead of building the string by hand.
 */
const isCanonicalShape = (value: unknown): boolean => {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return typeof value !== 'undefined' && typeof value !== 'function' && typeof value !== 'symbol' && typeof value !== 'bigint';
  if (Array.isArray(value)) {
    for (const item of value) if (!isCanonicalShape(item)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    if (!isCanonicalShape((value as Record<string, unknown>)[key])) return false;
    previous = key;
  }
  return true;
};

export const canonicalJson = (value: unknown): string => (isCanonicalShape(value) ? JSON.stringify(value) : slowCanonical(value));

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

const sha256Hex: (data: string) => string =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function'
    ? (data) => (nodeCrypto as unknown as { hash: (alg: string, data: string, enc: string) => string }).hash('sha256', data, 'hex')
    : (data) => nodeCrypto.createHash('sha256').update(data).digest('hex');

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
  // Keys listed in sorted order, so the envelope itself needs no sorting.
  sha256Hex(
    canonicalJson({
      ...(input.correlationId === undefined ? {} : { correlationId: input.correlationId }),
      data: input.data,
      prevHash: input.prevHash,
      recordedAt: input.recordedAt,
      revision: input.revision,
      stream: input.streamName,
      type: input.type,
    }),
  );

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
