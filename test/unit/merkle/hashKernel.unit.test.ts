import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { recomputeHash } from '../../../application/integrity.js';
import { eventHashes, eventLeafHash, eventLeafText } from '../../../application/merkle/eventLeaf.js';
import { toHex } from '../../../application/merkle/hashing.js';
import type { RecordedEvent } from '../../../application/ports/eventStore.js';

/**
 * The hash kernel (application/hashKernel.ts) builds the chain text and the
 * leaf text field by field, sharing the data's encoding, and also runs in
 * hashing threads. These tests pin it to the definition: canonical JSON of
 * the two envelopes, written here from scratch, and hashes computed by the
 * code before the kernel existed.
 */
const reference = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : reference(v))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
};

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const leafOf = (text: string) => createHash('sha256').update(Buffer.from([0])).update(text).digest('hex');

// Objects with keys in any order, unicode, floats, nulls, nesting: what a store may hand back.
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 5 }),
})).object;

const recorded = fc.record({
  streamName: fc.string({ minLength: 1 }),
  revision: fc.nat(),
  type: fc.string(),
  data: json,
  hash: fc.string(),
  prevHash: fc.string(),
  recordedAt: fc.nat(),
  correlationId: fc.option(fc.string(), { nil: undefined }),
  committedAt: fc.nat(),
  position: fc.nat(),
});

const toEvent = (r: typeof recorded extends fc.Arbitrary<infer T> ? T : never): RecordedEvent => ({
  streamName: r.streamName,
  revision: r.revision,
  type: r.type,
  position: r.position,
  committedAt: r.committedAt,
  data: r.data as RecordedEvent['data'],
  // Metadata as a store returns it: hash, prevHash, recordedAt, then correlationId (not sorted).
  metadata: { hash: r.hash, prevHash: r.prevHash, recordedAt: r.recordedAt, ...(r.correlationId === undefined ? {} : { correlationId: r.correlationId }) },
});

describe('hash kernel', () => {
  it('chain and leaf hashes are SHA-256 of the canonical envelopes, for random events', () => {
    fc.assert(
      fc.property(recorded, (r) => {
        const event = toEvent(r);
        const chainText = reference({ correlationId: r.correlationId, data: event.data, prevHash: r.prevHash, recordedAt: r.recordedAt, revision: r.revision, stream: r.streamName, type: r.type });
        const leafText = reference({ committedAt: r.committedAt, data: event.data, metadata: event.metadata, revision: r.revision, stream: r.streamName, type: r.type });
        expect(recomputeHash(event)).toBe(sha(chainText));
        expect(eventLeafText(event)).toBe(leafText);
        expect(toHex(eventLeafHash(event))).toBe(leafOf(leafText));
        const both = eventHashes(event);
        expect(both.chain).toBe(sha(chainText));
        expect(toHex(both.leaf)).toBe(leafOf(leafText));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the hashes the code before the kernel gave (pinned)', () => {
    const base = { position: 0, streamName: 'account-alice', committedAt: 1700000000001 };
    const opened: RecordedEvent = { ...base, revision: 0, type: 'AccountOpened', data: { accountId: 'alice', at: 1700000000000 }, metadata: { hash: 'x', prevHash: '', recordedAt: 1700000000000 } };
    const granted: RecordedEvent = {
      ...base,
      position: 1,
      revision: 1,
      type: 'CreditsGranted',
      committedAt: 1700000000003,
      data: { zeta: [1, { b: 2, a: 'é\u2028"' }], amount: 100, nested: { y: null, x: true, u: 1.5e-7 } },
      metadata: { hash: 'h', prevHash: 'p', recordedAt: 1700000000002, correlationId: 'req-1' },
    };
    expect(recomputeHash(opened)).toBe('e6d2bf7423cfa8da0a3407f665da9fa2047d7beacb92e07b715d994b7e2bfb9a');
    expect(toHex(eventLeafHash(opened))).toBe('8dac10da18f4a53e76ace66d5eb668120bd81f41571f69c9c78af1c32129e5ad');
    expect(recomputeHash(granted)).toBe('59eab68df0802b92fc9fe2e130dc30d4835ac088ee3c7e05774b8aca64054d34');
    expect(toHex(eventLeafHash(granted))).toBe('77790bbe445117343c2c909be9d8a99ef72c9506d4e2fcdf461f3664ea125e7a');
  });
});
