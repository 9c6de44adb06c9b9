import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalData, canonicalJson, eventHash, recomputeHash, sealEvents, sortKeys } from '../../../application/integrity.js';
import type { Json, RecordedEvent } from '../../../application/ports/eventStore.js';

/**
 * sealEvents encodes event data in one walk and writes the chain text
 * itself instead of asking the hash kernel field by field. These tests hold
 * that fast path to the kernel: the same stored data (key order included),
 * the same canonical text, the same hashes, the same errors, on random
 * values; and to hashes pinned from the code before the fast path existed.
 */

// JSON with keys in any order, integer-like and odd keys, undefined values, nesting.
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('10', '2', '__proto__', 'a', 'Z', 'é', ''));
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
})).object;

// Anything at all, as a careless caller might hand over: dates, maps, NaN, null prototypes, sparse arrays.
const anything = fc.anything({ withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withBigInt: false, withObjectString: true });

/** Key order matters to stores that keep objects as they are given: compare it at every level. */
const shape = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'object' && value !== null && !(value instanceof Date) && !(value instanceof Map) && !(value instanceof Set)) {
    return Object.keys(value).map((k) => [k, shape((value as Record<string, unknown>)[k])]);
  }
  return value;
};

const outcome = <T>(f: () => T): { ok: T } | { error: string } => {
  try {
    return { ok: f() };
  } catch (error) {
    return { error: String(error) };
  }
};

describe('sealing fast path', () => {
  it('canonicalData gives what sortKeys and the kernel canonicalJson give, for random values', () => {
    fc.assert(
      fc.property(fc.oneof(json, anything), (value) => {
        const fast = outcome(() => canonicalData(value));
        const kernel = outcome(() => {
          const sorted = sortKeys(value);
          return { value: sorted, text: canonicalJson(sorted) };
        });
        if ('error' in kernel) return expect(fast).toEqual(kernel);
        if (!('ok' in fast)) throw new Error(`fast path threw ${fast.error} where the kernel did not`);
        expect(fast.ok.text).toBe(kernel.ok.text);
        expect(shape(fast.ok.value)).toEqual(shape(kernel.ok.value));
        // Where sortKeys keeps the value itself (already canonical), so does the fast path.
        if (kernel.ok.value === value) expect(fast.ok.value).toBe(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('sealEvents chains the hashes the kernel computes, and its events audit', () => {
    const events = fc.array(fc.record({ type: fc.string({ minLength: 1, maxLength: 12 }), data: json }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.nat(1000),
        fc.string(),
        events,
        fc.nat(),
        fc.option(fc.string(), { nil: undefined }),
        (streamName, first, prevHash, batch, recordedAt, correlationId) => {
          const { sealed, lastHash } = sealEvents(streamName, first, prevHash, batch, recordedAt, correlationId);
          let previous = prevHash;
          sealed.forEach((event, i) => {
            const expectedData = sortKeys(batch[i]?.data) as { readonly [key: string]: Json };
            expect(shape(event.data)).toEqual(shape(expectedData));
            const hash = eventHash({ streamName, revision: first + i, type: event.type, data: expectedData, recordedAt, correlationId, prevHash: previous });
            expect(event.metadata).toEqual(correlationId === undefined ? { hash, prevHash: previous, recordedAt } : { hash, prevHash: previous, recordedAt, correlationId });
            const recorded: RecordedEvent = { ...event, streamName, revision: first + i, position: 0, committedAt: 0 };
            expect(recomputeHash(recorded)).toBe(hash);
            previous = hash;
          });
          expect(lastHash).toBe(previous);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses what the kernel refuses, with the same error', () => {
    for (const data of [{ amount: Number.NaN }, { nested: [Number.POSITIVE_INFINITY] }]) {
      expect(() => sealEvents('s', 0, '', [{ type: 'T', data }], 1)).toThrow('non-finite number in event');
    }
    expect(() => sealEvents('s', 0, '', [{ type: 'T', data: {} }], Number.NaN)).toThrow('non-finite number in event');
  });

  it('gives the hashes and stored data the code before the fast path gave (pinned)', () => {
    const events = [
      { type: 'AccountOpened', data: { accountId: 'alice', at: 1700000000000 } },
      { type: 'CreditsGranted', data: { grantId: 'g1', amount: 1000, at: 1700000000000, expiresAt: 1800000000000, reason: 'promo "\u2028" é' } },
      {
        type: 'CreditsReserved',
        data: { reservationId: 'r1', amount: 100, expiresAt: 1700000600000, at: 1700000000001, purpose: { service: 'llm', model: 'gpt-4o' }, allocation: [{ grantId: 'g1', amount: 100 }] },
      },
      {
        type: 'ReservationSettled',
        data: {
          reservationId: 'r1',
          charged: 37,
          released: 63,
          usage: { provider: 'openai', model: 'gpt-4o', inputTokens: 12, outputTokens: 30 },
          priceSheetVersion: 'v1',
          at: 1700000000002,
          skipped: undefined,
        },
      },
      { type: 'Odd', data: { '10': 1, '2': [1, -0, 1.5e-7, null], b: { z: 1, a: 2 } } },
    ];
    const a = sealEvents('account-alice', 0, '', events, 1700000000005, 'req-1');
    const b = sealEvents('account-alice', 5, a.lastHash, events.slice(2, 4), 1700000000006);
    const sealed = [...a.sealed, ...b.sealed];
    expect(sealed.map((e) => e.metadata.hash)).toEqual([
      '58887eff9c6f40aa06e3d90d8b41f214196e44099b3c1f50491120df495f9172',
      '56b471f1ecdcb0f93fefd72360880a5d089b681828860891d2c8e18267ccf756',
      'cbac86bf05d4dc1b9b8a2b4a85ffddd11e9c4c6975506a13f8f4174078bf8385',
      'a84a910b5086e703af85f2eef295dd877b02aaa8b4365c0dc740eb874e374b28',
      '5567e4babd814bd1dc630cbc810287d04ad7b3440d362a1f3fc2f2cc3ec3c28e',
      '3f70632aaceed7f3f966b5e42427722f78f48c69aa8699b845bc3e7b3ec0a3dd',
      '640bc95e90a518609c40ed00e53cd770c331f5564cd9873eb66774fef38933bd',
    ]);
    expect(JSON.stringify(sealed.map((e) => e.data))).toBe(
      '[{"accountId":"alice","at":1700000000000},{"amount":1000,"at":1700000000000,"expiresAt":1800000000000,"grantId":"g1","reason":"promo \\"\u2028\\" é"},' +
        '{"allocation":[{"amount":100,"grantId":"g1"}],"amount":100,"at":1700000000001,"expiresAt":1700000600000,"purpose":{"model":"gpt-4o","service":"llm"},"reservationId":"r1"},' +
        '{"at":1700000000002,"charged":37,"priceSheetVersion":"v1","released":63,"reservationId":"r1","usage":{"inputTokens":12,"model":"gpt-4o","outputTokens":30,"provider":"openai"}},' +
        '{"2":[1,0,1.5e-7,null],"10":1,"b":{"a":2,"z":1}},' +
        '{"allocation":[{"amount":100,"grantId":"g1"}],"amount":100,"at":1700000000001,"expiresAt":1700000600000,"purpose":{"model":"gpt-4o","service":"llm"},"reservationId":"r1"},' +
        '{"at":1700000000002,"charged":37,"priceSheetVersion":"v1","released":63,"reservationId":"r1","usage":{"inputTokens":12,"model":"gpt-4o","outputTokens":30,"provider":"openai"}}]',
    );
  });
});
