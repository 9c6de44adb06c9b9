import fc from 'fast-check';

/**
 * Random events for the hashing tests of the SQLite store: JSON values with
 * awkward strings (any code point, lone surrogates included), keys that JSON
 * orders oddly (integer-like ones first, "__proto__"), numbers of every
 * kind, and, half of the time, objects already in sorted key order, which
 * the hashing code handles on a faster path.
 */
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 8 }));
const key = fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('1', '10', '9', '__proto__', 'a', 'B', 'é'));

const sortedKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) Object.defineProperty(out, k, { value: sortedKeys((value as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  return out;
};

const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).object;

export const eventData = fc.oneof(json, json.map(sortedKeys));

export const newEvent = fc.record({
  type: fc.string({ minLength: 1 }),
  data: eventData,
  metadata: fc.record({ hash: text, prevHash: text, recordedAt: fc.nat(), correlationId: fc.option(text, { nil: undefined }) }, { requiredKeys: ['hash', 'prevHash', 'recordedAt'] }),
});
