import * as t from 'io-ts';

/**
 * Field rules shared by every aggregate's commands (checked in `decide`) and
 * events (checked by the codecs), so that every event `decide` emits also
 * decodes when it is read back.
 */

/**
 * The last millisecond of year 9999. Instants past it are input errors, and the
 * bound keeps `at + ttlMs` far inside the safe-integer range.
 */
export const instantMax = 253_402_300_799_999;

export const isInstant = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= instantMax;

/** Non-blank text of at most `maxLength` characters: ids and reasons are opaque but never unbounded. */
export const isText = (maxLength: number) => (value: unknown): value is string =>
  typeof value === 'string' && value.trim().length > 0 && value.length <= maxLength;

export const InstantCodec = t.refinement(t.number, isInstant, 'Instant');

export type TextProblem = 'empty' | 'too_long' | 'not_a_string';

/** Explains why a text field is unacceptable, or undefined when it is fine. */
export const textProblem = (value: unknown, maxLength: number): TextProblem | undefined => {
  if (typeof value !== 'string') return 'not_a_string';
  if (value.trim().length === 0) return 'empty';
  if (value.length > maxLength) return 'too_long';
  return undefined;
};

/** The codec of one event: `{ type: <literal>, data }`, named after its type. */
export const eventCodec = <T extends string, D extends t.Mixed>(type: T, data: D) =>
  t.type({ type: t.literal(type), data }, type);
