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

/** Marks a value the fast path leaves to the kernel. */
const UNUSUAL: unique symbol = Symbol('unusual');

/**
 * What sortKeys gives for plain JSON (the value itself where it is already
 * canonical, a sorted copy where it is not), in a walk that also proves
 * native JSON.stringify of the result is the kernel's canonical text: every
 * record's keys enumerate in sorted order, nothing is undefined, every
 * number is finite. Anything else (a class instance, undefined in an array,
 * a key V8 would enumerate out of insertion order, a value JSON has no word
 * for) answers UNUSUAL and the caller takes the kernel's path. The unit
 * tests hold both results to the kernel's on random values.
 */
const canonicalValue = (value: unknown): unknown => {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : UNUSUAL;
    case 'object':
      if (value === null) return value;
      return Array.isArray(value) ? canonicalArray(value) : canonicalRecord(value);
    default:
      return UNUSUAL;
  }
};

const canonicalArray = (array: readonly unknown[]): unknown => {
  if (Object.getPrototypeOf(array) !== Array.prototype) return UNUSUAL;
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    // Holes and undefined items: the kernel writes null, sortKeys keeps holes; leave both to it.
    if (item === undefined) return UNUSUAL;
    const canonical = canonicalValue(item);
    if (canonical === UNUSUAL) return UNUSUAL;
    if (copy === undefined && canonical !== item) copy = array.slice(0, i);
    copy?.push(canonical);
  }
  return copy ?? array;
};

/** Sorts in place by UTF-16 code units (what Array#sort does without a comparator); event records have a handful of keys. */
const insertionSort = (keys: string[]): void => {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
};

const canonicalRecord = (record: object): unknown => {
  const proto: unknown = Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null) return UNUSUAL;
  const keys = Object.keys(record);
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const first = key.charCodeAt(0);
    // Integer-like keys are enumerated before all others, whatever their insertion order; `__proto__` does not copy as a key.
    if ((first >= 48 && first <= 57) || key === '__proto__') return UNUSUAL;
    if (i > 0 && !((keys[i - 1] as string) < key)) sorted = false;
  }
  if (!sorted) insertionSort(keys);
  let copy: Record<string, unknown> | undefined = sorted ? undefined : {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = (record as Record<string, unknown>)[key];
    if (item === undefined) {
      copy ??= copyKeys(record, keys, i);
      continue;
    }
    const canonical = canonicalValue(item);
    if (canonical === UNUSUAL) return UNUSUAL;
    if (copy === undefined && canonical !== item) copy = copyKeys(record, keys, i);
    if (copy !== undefined) copy[key] = canonical;
  }
  return copy ?? record;
};

/** A new record with the first `n` keys of an unchanged, sorted prefix. */
const copyKeys = (record: object, keys: readonly string[], n: number): Record<string, unknown> => {
  const copy: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = keys[i] as string;
    const item = (record as Record<string, unknown>)[key];
    if (item !== undefined) copy[key] = item;
  }
  return copy;
};

/**
 * The stored form of event data and its canonical text: equal to
 * `sortKeys(value)` and `canonicalJson(sortKeys(value))`, in one walk plus
 * native JSON.stringify for plain JSON, through the kernel for anything else.
 */
export const canonicalData = (value: unknown): { readonly value: unknown; readonly text: string } => {
  const canonical = canonicalValue(value);
  if (canonical !== UNUSUAL) return { value: canonical, text: JSON.stringify(canonical) };
  const sorted = sortKeys(value);
  return { value: sorted, text: canonicalJson(sorted) };
};

/**
 * The chain text of one event whose data is already encoded: the text
 * `chainText` gives for the same fields, written out in its field order
 * (correlationId, data, prevHash, recordedAt, revision, stream, type) with
 * the stream name encoded once per batch. Tested equal to the kernel's.
 */
const sealedChainText = (
  streamText: string,
  revision: number,
  type: string,
  dataText: string,
  recordedAt: number,
  correlationId: string | undefined,
  prevHash: string,
): string =>
  `{${correlationId === undefined ? '' : `"correlationId":${JSON.stringify(correlationId)},`}"data":${dataText},"prevHash":${JSON.stringify(prevHash)},"recordedAt":${recordedAt},"revision":${revision},"stream":${streamText},"type":${JSON.stringify(type)}}`;

/**
 * Seals domain events into store events, continuing the chain after
 * `prevHash` at `firstRevision`, and appends them to `into`. Returns the
 * last event's hash. The hashes are the ones `eventHash` gives.
 */
export const sealInto = (
  into: NewEvent[],
  streamName: string,
  firstRevision: number,
  prevHash: string,
  events: readonly { readonly type: string; readonly data: unknown }[],
  recordedAt: number,
  correlationId?: string,
): string => {
  // The kernel refuses what JSON cannot say; take its path so the same error is thrown.
  const plain = Number.isFinite(recordedAt) && Number.isFinite(firstRevision) && (correlationId === undefined || typeof correlationId === 'string');
  const streamText = JSON.stringify(streamName);
  let previous = prevHash;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as { readonly type: string; readonly data: unknown };
    const revision = firstRevision + i;
    const encoded = canonicalData(event.data);
    const data = encoded.value as { readonly [key: string]: Json };
    const hash =
      plain && typeof event.type === 'string'
        ? sha256Hex(sealedChainText(streamText, revision, event.type, encoded.text, recordedAt, correlationId, previous))
        : eventHash({ streamName, revision, type: event.type, data, recordedAt, correlationId, prevHash: previous });
    into.push({
      type: event.type,
      data,
      metadata: correlationId === undefined ? { hash, prevHash: previous, recordedAt } : { hash, prevHash: previous, recordedAt, correlationId },
    });
    previous = hash;
  }
  return previous;
};

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
  const lastHash = sealInto(sealed, streamName, firstRevision, prevHash, events, recordedAt, correlationId);
  return { sealed, lastHash };
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
