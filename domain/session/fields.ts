import * as t from 'io-ts';
import { isInstant, isText, textProblem as sharedTextProblem } from '../shared/fields.js';

export { InstantCodec, instantMax, isInstant } from '../shared/fields.js';

/**
 * Field rules shared by the Session commands (checked in `decide`) and events
 * (checked by the codecs), so that every event `decide` emits also decodes
 * when it is read back. Secrets never enter the domain: only SHA-256 hashes
 * of the code and of the session token, computed by the application.
 */

export const minuteMs = 60_000;
/** A verification code is good for 15 minutes unless the command says otherwise. */
export const codeTtlDefaultMs = 15 * minuteMs;
/** A code that lives longer than an hour is a guessing target, so longer TTLs are refused. */
export const codeTtlMaxMs = 60 * minuteMs;
/** A sign-in is good for 24 hours unless the command says otherwise. */
export const authorizationTtlDefaultMs = 24 * 60 * minuteMs;
export const authorizationTtlMaxMs = 30 * authorizationTtlDefaultMs;

export const textMaxLength = {
  sessionId: 200,
  userId: 200,
  // Google documents `sub` as at most 255 ASCII characters.
  googleSubject: 255,
  // RFC 5321 limits a forward path to 256 octets; 320 is the common upper bound for an address.
  email: 320,
  reason: 500,
} as const;

export const isSha256Hex = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

export const Sha256Codec = t.refinement(t.string, isSha256Hex, 'Sha256Hex');
export const textCodec = (field: keyof typeof textMaxLength) =>
  t.refinement(t.string, isText(textMaxLength[field]), field);

export type FieldProblem =
  | 'empty'
  | 'too_long'
  | 'not_a_string'
  | 'not_an_instant'
  | 'not_sha256_hex'
  | 'not_a_duration'
  | 'duration_too_long'
  | 'deadline_out_of_range';

/** Explains why a text field is unacceptable, or undefined when it is fine. */
export const textProblem = (value: unknown, field: keyof typeof textMaxLength): FieldProblem | undefined =>
  sharedTextProblem(value, textMaxLength[field]);

/**
 * Explains why a TTL is unacceptable, or undefined when it is a positive
 * integer within the limit whose deadline (`at + ttl`) is still an instant.
 */
export const ttlProblem = (at: number, value: unknown, maxMs: number): FieldProblem | undefined => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return 'not_a_duration';
  if (value > maxMs) return 'duration_too_long';
  if (!isInstant(at + value)) return 'deadline_out_of_range';
  return undefined;
};
