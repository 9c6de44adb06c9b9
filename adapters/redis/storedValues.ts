import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import type { IdempotencyReservation } from '../../application/ports/sessionStore.js';
import { IdempotentResponse } from '../../application/ports/sessionStore.js';

/**
 * How session-store values look at rest: JSON text, in Redis and in the
 * in-process twin alike (the twin mimics Redis so one contract holds both).
 */

/** A stored idempotency entry: a reservation in progress or the first response. */
export const IdempotencyEntry = t.union([
  t.type({ state: t.literal('in_progress'), requestHash: t.string }),
  t.intersection([t.type({ state: t.literal('completed') }), IdempotentResponse]),
]);

/**
 * Decodes a stored value. A value that does not decode was written by a
 * different version or corrupted: that is a bug to see, not an outage and not
 * a missing key, so it throws a plain Error naming the namespace.
 */
export const decodeStored = <V>(codec: t.Type<V, unknown, unknown>, namespace: string, json: string): V => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`session store: value in "${namespace}" is not JSON`);
  }
  const decoded = codec.decode(parsed);
  if (E.isLeft(decoded)) {
    throw new Error(`session store: value in "${namespace}" does not decode: ${PathReporter.report(decoded).join('; ')}`);
  }
  return decoded.right;
};

export const decodeIdempotencyEntry = (json: string): IdempotencyReservation => {
  const entry = decodeStored(IdempotencyEntry, 'idem', json);
  if (entry.state === 'in_progress') return { _tag: 'in_progress', requestHash: entry.requestHash };
  return { _tag: 'completed', response: { requestHash: entry.requestHash, status: entry.status, body: entry.body } };
};

/** TTLs are positive integers of ms; anything else is a caller bug. */
export const assertTtl = (ttlMs: number): void => {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${String(ttlMs)}`);
};
