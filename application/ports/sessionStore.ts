import * as t from 'io-ts';
import type { Json } from './eventStore.js';

/**
 * The SessionStore port: short-lived lookups with time-to-live, kept in Redis
 * in production and in process otherwise. It is not the audit trail: the
 * event-sourced Session aggregate records what happened; this store only
 * answers "which session does this code / state / token belong to, right now".
 *
 * Keys are opaque strings chosen by the caller. Secrets (verification codes,
 * session tokens) must be passed as their SHA-256 hex digest, never in clear,
 * so that a dump of the store cannot be replayed.
 *
 * Every value is JSON and is decoded with the codecs below when read back.
 * TTLs are in milliseconds and must be positive integers. An outage of the
 * backing store rejects the Promise with a `StoreUnavailable` error (the HTTP
 * layer answers 503); a missing or expired key is `undefined`, not an error.
 */

/** A verification code (by hash) waiting for, or having passed, Google sign-in. */
export const VerificationCodeRecord = t.intersection([
  t.type({
    sessionId: t.string,
    status: t.union([t.literal('pending'), t.literal('authorized')]),
  }),
  t.partial({
    /** The ledger account linked during the OAuth callback (set once authorized). */
    userId: t.string,
    /** On a user-code entry: the hash of the device code it stands for. */
    codeHash: t.string,
    /** On a user-code entry: who asked for the sign-in, shown on the confirmation page. */
    requester: t.intersection([t.type({ address: t.string, at: t.number }), t.partial({ name: t.string, userAgent: t.string })]),
  }),
]);
export type VerificationCodeRecord = t.TypeOf<typeof VerificationCodeRecord>;

/** What the OAuth callback needs to finish the flow started with this `state`. */
export const OAuthStateRecord = t.type({
  codeHash: t.string,
  pkceVerifier: t.string,
  nonce: t.string,
});
export type OAuthStateRecord = t.TypeOf<typeof OAuthStateRecord>;

/** A session token (by hash) and the session it opens. `expiresAt` in ms since epoch. */
export const SessionTokenRecord = t.type({
  sessionId: t.string,
  userId: t.string,
  expiresAt: t.number,
});
export type SessionTokenRecord = t.TypeOf<typeof SessionTokenRecord>;

/**
 * A map from key to value where every entry expires on its own. `consume` is
 * an atomic get-and-delete: of any number of concurrent consumers of one key,
 * exactly one receives the value.
 */
export type TtlMap<V> = {
  /** Writes (or overwrites) the value; the entry expires `ttlMs` from now. */
  readonly put: (key: string, value: V, ttlMs: number) => Promise<void>;
  readonly get: (key: string) => Promise<V | undefined>;
  /** Returns the value and deletes it in one atomic step (single use). */
  readonly consume: (key: string) => Promise<V | undefined>;
  /** Removes the entry if present (revocation). */
  readonly delete: (key: string) => Promise<void>;
};

const isJson = (u: unknown, depth = 0): u is Json => {
  // The depth cap keeps a hostile or corrupt value from exhausting the stack.
  if (depth > 64) return false;
  if (u === null || typeof u === 'boolean' || typeof u === 'string') return true;
  if (typeof u === 'number') return Number.isFinite(u);
  if (Array.isArray(u)) return u.every((x) => isJson(x, depth + 1));
  if (typeof u === 'object') return Object.values(u).every((x) => isJson(x, depth + 1));
  return false;
};

/** Any JSON value. */
export const JsonValue = new t.Type<Json, Json, unknown>(
  'Json',
  (u): u is Json => isJson(u),
  (u, c) => (isJson(u) ? t.success(u) : t.failure(u, c)),
  (a) => a,
);

/** The first response to a request carrying an `Idempotency-Key`. */
export const IdempotentResponse = t.type({
  /** Hash of the request (method, path, body) the key was first used with. */
  requestHash: t.string,
  status: t.number,
  body: JsonValue,
});
export type IdempotentResponse = t.TypeOf<typeof IdempotentResponse>;

/**
 * Outcome of `putIfAbsent`:
 * - `reserved`: this caller owns the key and must run the request, then call
 *   `complete` (or `release` if it failed before doing anything durable).
 * - `in_progress`: another request with this key is running now.
 * - `completed`: the stored first response; replay it.
 * The caller compares `requestHash` itself: the same key with a different
 * request is a conflict (409) in both the `in_progress` and `completed` cases.
 */
export type IdempotencyReservation =
  | { readonly _tag: 'reserved' }
  | { readonly _tag: 'in_progress'; readonly requestHash: string }
  | { readonly _tag: 'completed'; readonly response: IdempotentResponse };

/** Keys are kept at least a day (the API promise for `Idempotency-Key`). */
export const idempotencyTtlMinMs = 24 * 60 * 60 * 1000;

export type IdempotencyStore = {
  /**
   * Atomic put-if-absent: of two concurrent callers with one key, exactly one
   * gets `reserved`. The reservation expires after `reservationTtlMs` so a
   * crashed process does not block the key for a day.
   */
  readonly putIfAbsent: (key: string, requestHash: string, reservationTtlMs: number) => Promise<IdempotencyReservation>;
  /**
   * Stores the response for replay; use `ttlMs` >= idempotencyTtlMinMs.
   * Overwrites the reservation. (Should the reservation have expired and a
   * second request reserved the key meanwhile, this still overwrites: the
   * ledger's own idempotency, deduction id = Idempotency-Key, is what rules
   * out a double charge; this store only saves the work and the replay.)
   */
  readonly complete: (key: string, response: IdempotentResponse, ttlMs: number) => Promise<void>;
  /** Drops a reservation that is still in progress; a completed response is kept. */
  readonly release: (key: string) => Promise<void>;
};

/** The store is unreachable or timed out. Thrown (rejected), never returned. */
export type StoreUnavailable = Error & {
  readonly _tag: 'StoreUnavailable';
  /** The operation that failed, e.g. "sessionTokens.get". */
  readonly operation: string;
};

export const storeUnavailable = (operation: string, cause: unknown): StoreUnavailable =>
  Object.assign(new Error(`session store unavailable during ${operation}: ${describe(cause)}`, { cause }), {
    _tag: 'StoreUnavailable' as const,
    operation,
  });

export const isStoreUnavailable = (error: unknown): error is StoreUnavailable =>
  error instanceof Error && (error as { _tag?: unknown })._tag === 'StoreUnavailable';

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

export type SessionStore = {
  /** A short name for logs and /health ("inprocess", "redis"). */
  readonly kind: string;
  readonly verificationCodes: TtlMap<VerificationCodeRecord>;
  /** Keyed by the OAuth `state` parameter (random, single use). */
  readonly oauthStates: TtlMap<OAuthStateRecord>;
  readonly sessionTokens: TtlMap<SessionTokenRecord>;
  readonly idempotency: IdempotencyStore;
};
