import * as t from 'io-ts';

/**
 * Field rules shared by the Permissions commands (checked in `decide`) and
 * events (checked by the codecs), so that every event `decide` emits also
 * decodes when it is read back.
 */

/** Longest accepted actor id; ids are opaque but never unbounded. */
export const actorMaxLength = 200;
/** Longest accepted suspension reason. */
export const reasonMaxLength = 500;

/**
 * The last millisecond of year 9999. Instants past it are input errors, and the
 * bound keeps `at + ttlMs` far inside the safe-integer range.
 */
export const instantMax = 253_402_300_799_999;

export const isInstant = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= instantMax;

const isText = (maxLength: number) => (value: unknown): value is string =>
  typeof value === 'string' && value.trim().length > 0 && value.length <= maxLength;

export const InstantCodec = t.refinement(t.number, isInstant, 'Instant');
export const ActorCodec = t.refinement(t.string, isText(actorMaxLength), 'Actor');
export const ReasonCodec = t.refinement(t.string, isText(reasonMaxLength), 'Reason');

export type TextProblem = 'empty' | 'too_long' | 'not_a_string';

/** Explains why a text field is unacceptable, or undefined when it is fine. */
export const textProblem = (value: unknown, maxLength: number): TextProblem | undefined => {
  if (typeof value !== 'string') return 'not_a_string';
  if (value.trim().length === 0) return 'empty';
  if (value.length > maxLength) return 'too_long';
  return undefined;
};
