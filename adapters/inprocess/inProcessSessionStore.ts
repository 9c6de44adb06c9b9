import type * as t from 'io-ts';
import type {
  IdempotencyReservation,
  IdempotencyStore,
  IdempotentResponse,
  SessionStore,
  TtlMap,
} from '../../application/ports/sessionStore.js';
import {
  OAuthStateRecord,
  SessionTokenRecord,
  VerificationCodeRecord,
} from '../../application/ports/sessionStore.js';
import { assertTtl, decodeIdempotencyEntry, decodeStored } from '../redis/storedValues.js';

export type InProcessSessionStoreOptions = {
  /** The clock (ms since epoch); tests inject one they can move. */
  readonly now?: () => number;
  /** Purge expired entries every this many writes, so the map stays bounded. */
  readonly sweepEvery?: number;
};

type Entry = { readonly json: string; readonly expiresAt: number };

/**
 * The in-process twin of the Redis session store. Values are kept as JSON text,
 * exactly as Redis keeps them, so a caller cannot mutate a stored value through
 * a reference and a non-JSON value fails here just as it would in production.
 * Single-threaded JavaScript makes every operation atomic.
 */
export const makeInProcessSessionStore = (options: InProcessSessionStoreOptions = {}): SessionStore => {
  const now = options.now ?? Date.now;
  const sweepEvery = options.sweepEvery ?? 1000;
  const entries = new Map<string, Entry>();
  let writes = 0;

  const read = (key: string): string | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.json;
  };

  const write = (key: string, value: unknown, ttlMs: number) => {
    assertTtl(ttlMs);
    writes += 1;
    if (writes % sweepEvery === 0) {
      const nowMs = now();
      for (const [k, e] of entries) if (e.expiresAt <= nowMs) entries.delete(k);
    }
    entries.set(key, { json: JSON.stringify(value), expiresAt: now() + ttlMs });
  };

  const ttlMap = <V>(namespace: string, codec: t.Type<V, unknown, unknown>): TtlMap<V> => {
    const k = (key: string) => `${namespace}:${key}`;
    const decode = (json: string | undefined) => (json === undefined ? undefined : decodeStored(codec, namespace, json));
    return {
      put: async (key, value, ttlMs) => write(k(key), codec.encode(value), ttlMs),
      get: async (key) => decode(read(k(key))),
      consume: async (key) => {
        const json = read(k(key));
        entries.delete(k(key));
        return decode(json);
      },
      delete: async (key) => {
        entries.delete(k(key));
      },
    };
  };

  const idempotency: IdempotencyStore = {
    putIfAbsent: async (key, requestHash, reservationTtlMs): Promise<IdempotencyReservation> => {
      const existing = read(`idem:${key}`);
      if (existing !== undefined) return decodeIdempotencyEntry(existing);
      write(`idem:${key}`, { state: 'in_progress', requestHash }, reservationTtlMs);
      return { _tag: 'reserved' };
    },
    complete: async (key, response: IdempotentResponse, ttlMs) =>
      write(`idem:${key}`, { state: 'completed', ...response }, ttlMs),
    release: async (key) => {
      const existing = read(`idem:${key}`);
      if (existing !== undefined && decodeIdempotencyEntry(existing)._tag === 'in_progress') entries.delete(`idem:${key}`);
    },
  };

  return {
    kind: 'inprocess',
    verificationCodes: ttlMap('vc', VerificationCodeRecord),
    oauthStates: ttlMap('oauth', OAuthStateRecord),
    sessionTokens: ttlMap('st', SessionTokenRecord),
    idempotency,
  };
};
