import type * as NodeCrypto from 'node:crypto';

/**
 * Every hash the ledger computes from an event, in one self-contained
 * factory: the canonical JSON encoding, the per-stream chain hash
 * (integrity.ts) and the RFC 9162 leaf hash of the Merkle log
 * (merkle/eventLeaf.ts, merkle/hashing.ts).
 *
 * Why one factory that uses nothing but its parameter: an adapter may start
 * it in a worker thread from its source text (`makeHashKernel.toString()`,
 * see adapters/eventstore/sqlite/sqliteHasher.ts), the way the SQLite writer
 * thread is started, so the thread hashes with this very code and its
 * hashes are byte-identical to the main thread's by construction. It may
 * therefore refer to no import and no other declaration of this module.
 *
 * `eventTexts` builds the chain text and the leaf text of one event
 * together, canonicalising its data once for both; the texts are the ones
 * `canonicalJson` gives for the two envelopes (fields in sorted order,
 * undefined ones left out), which the unit tests check on random values.
 */
export type ChainInput = {
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly data: unknown;
  readonly recordedAt: unknown;
  readonly correlationId?: unknown;
  readonly prevHash: unknown;
};

/** What a leaf commits to: the fields of a recorded event (merkle/eventLeaf.ts). */
export type LeafInput = {
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly committedAt: number;
};

export type HashKernel = ReturnType<typeof makeHashKernel>;

/* istanbul ignore next -- also runs in worker threads from its source text, where coverage counters do not exist. */
export function makeHashKernel(crypto: typeof NodeCrypto) {
  function slowCanonical(value: unknown): string {
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
  }

  // True when JSON.stringify already yields the canonical form: keys in sorted
  // order, nothing undefined, every number finite (the common case: events are
  // written with sorted keys), so one walk plus native JSON.stringify suffices.
  function isCanonicalShape(value: unknown): boolean {
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
  }

  function canonicalJson(value: unknown): string {
    return isCanonicalShape(value) ? JSON.stringify(value) : slowCanonical(value);
  }

  // `,"key":value` for a field whose value is already canonical text; nothing for an undefined one.
  function field(key: string, value: unknown, text?: string): string {
    return value === undefined ? '' : `,${JSON.stringify(key)}:${text ?? canonicalJson(value)}`;
  }

  // An object of fields given in sorted key order: strip the leading comma.
  function object(fields: string): string {
    return `{${fields.slice(1)}}`;
  }

  function chainText(input: ChainInput, dataText?: string): string {
    return object(
      field('correlationId', input.correlationId) +
        field('data', input.data, dataText) +
        field('prevHash', input.prevHash) +
        field('recordedAt', input.recordedAt) +
        field('revision', input.revision) +
        field('stream', input.streamName) +
        field('type', input.type),
    );
  }

  function leafText(event: LeafInput, dataText?: string): string {
    return object(
      field('committedAt', event.committedAt) +
        field('data', event.data, dataText) +
        field('metadata', event.metadata) +
        field('revision', event.revision) +
        field('stream', event.streamName) +
        field('type', event.type),
    );
  }

  // One-shot hashing (crypto.hash, Node 20.12+) costs about half of a createHash object per call.
  const oneShot = (crypto as unknown as { hash?: (algorithm: string, data: string | Uint8Array, encoding: string) => Buffer | string }).hash;

  function sha256Hex(text: string): string {
    return oneShot === undefined ? crypto.createHash('sha256').update(text).digest('hex') : (oneShot('sha256', text, 'hex') as string);
  }

  function sha256Bytes(text: string): Uint8Array {
    return oneShot === undefined ? crypto.createHash('sha256').update(text).digest() : (oneShot('sha256', text, 'buffer') as Buffer);
  }

  // RFC 9162 leaf: SHA-256(0x00 || data). "\u0000" encodes as the single byte 0x00 in UTF-8.
  function leafHash(data: Uint8Array | string): Uint8Array {
    if (oneShot !== undefined && typeof data === 'string') return oneShot('sha256', `\u0000${data}`, 'buffer') as Buffer;
    return crypto.createHash('sha256').update(Uint8Array.of(0x00)).update(data).digest();
  }

  // Both texts of a recorded event whose metadata carries the chain fields, sharing one canonical encoding of its data.
  function eventTexts(event: LeafInput & { readonly metadata: { readonly recordedAt?: unknown; readonly correlationId?: unknown; readonly prevHash?: unknown } }): { chain: string; leaf: string } {
    const dataText = event.data === undefined ? undefined : canonicalJson(event.data);
    const m = event.metadata;
    const chain = chainText({ streamName: event.streamName, revision: event.revision, type: event.type, data: event.data, recordedAt: m.recordedAt, correlationId: m.correlationId, prevHash: m.prevHash }, dataText);
    return { chain, leaf: leafText(event, dataText) };
  }

  return { canonicalJson, isCanonicalShape, chainText, leafText, eventTexts, sha256Hex, sha256Bytes, leafHash };
}
