import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

/**
 * An amount of credits in the smallest credit unit. Always an integer inside
 * the safe range, never a float; the brand keeps raw numbers out of money code.
 */
export interface CreditsBrand {
  readonly Credits: unique symbol;
}
export type Credits = t.Branded<number, CreditsBrand>;

/** Zero or more credits: balances, availability. */
export const Credits = t.brand(
  t.number,
  (n): n is Credits => Number.isSafeInteger(n) && n >= 0,
  'Credits',
);

export interface PositiveCreditsBrand {
  readonly PositiveCredits: unique symbol;
}
/** A strictly positive amount: what a money command moves. */
export type PositiveCredits = t.Branded<Credits, PositiveCreditsBrand>;
export const PositiveCredits = t.brand(
  Credits,
  (n): n is PositiveCredits => n > 0,
  'PositiveCredits',
);

export type InvalidAmount = {
  readonly _tag: 'InvalidAmount';
  readonly value: unknown;
  readonly reason: 'not_integer' | 'not_positive' | 'unsafe';
};

const invalid = (value: unknown, reason: InvalidAmount['reason']): InvalidAmount => ({
  _tag: 'InvalidAmount',
  value,
  reason,
});

/** Checks a raw value and explains why it is not a positive amount. */
export const parsePositive = (value: unknown): E.Either<InvalidAmount, PositiveCredits> => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return E.left(invalid(value, 'not_integer'));
  if (!Number.isInteger(value)) return E.left(invalid(value, 'not_integer'));
  if (!Number.isSafeInteger(value)) return E.left(invalid(value, 'unsafe'));
  if (value <= 0) return E.left(invalid(value, 'not_positive'));
  return E.right(value as PositiveCredits);
};

export const parseNonNegative = (value: unknown): E.Either<InvalidAmount, Credits> => {
  if (value === 0) return E.right(0 as Credits);
  return parsePositive(value);
};

export const ZERO = 0 as Credits;

/** Sum that refuses to leave the safe range (a bug or an attack, never business). */
export const add = (a: Credits, b: Credits): Credits => {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new RangeError(`credit sum out of safe range: ${a} + ${b}`);
  return sum as Credits;
};

/** Difference that refuses to go below zero; callers check first. */
export const subtract = (a: Credits, b: Credits): Credits => {
  const diff = a - b;
  if (diff < 0) throw new RangeError(`credit difference below zero: ${a} - ${b}`);
  return diff as Credits;
};

export const min = (a: Credits, b: Credits): Credits => (a < b ? a : b);
