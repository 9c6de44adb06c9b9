import type * as t from 'io-ts';
import type { Redis } from 'ioredis';
import type {
  IdempotencyReservation,
  IdempotencyStore,
  SessionStore,
  TtlMap,
} from '../../application/ports/sessionStore.js';
import {
  OAuthStateRecord,
  SessionTokenRecord,
  VerificationCodeRecord,
  storeUnavailable,
} from '../../application/ports/sessionStore.js';
import { isRedisOutage } from './redisClient.js';
import { assertTtl, decodeIdempotencyEntry, decodeStored } from './storedValues.js';

export type RedisSessionStoreOptions = {
  /** A client from makeRedisClient (fail-fast settings). Not closed by the store. */
  readonly redis: Redis;
  /** Prepended to every key: one per deployment, one per test run. E.g. "ledger:prod:". */
  readonly prefix: string;
};

/**
 * Reserve the key unless an entry exists; return the existing entry otherwise.
 * One script, so "check then set" cannot interleave with another caller.
 * (`SET NX GET` does the same from Redis 7.0 on; the script also runs on 6.2.)
 */
const reserveScript = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/** Delete the entry only while it is still a reservation, never a stored response. */
const releaseScript = `
local existing = redis.call('GET', KEYS[1])
if not existing then return 0 end
local ok, entry = pcall(cjson.decode, existing)
if ok and type(entry) == 'table' and entry.state == 'in_progress' then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

type ScriptClient = Redis & {
  ledgerIdemReserve: (key: string, entry: string, ttlMs: number) => Promise<string | null>;
  ledgerIdemRelease: (key: string) => Promise<number>;
};

/**
 * The Redis session store. Each namespace is plain string keys with PX
 * expiry; `consume` is GETDEL (Redis >= 6.2), atomic on the server, so of many
 * concurrent consumers exactly one receives the value.
 */
export const makeRedisSessionStore = (options: RedisSessionStoreOptions): SessionStore => {
  const { redis, prefix } = options;
  redis.defineCommand('ledgerIdemReserve', { numberOfKeys: 1, lua: reserveScript });
  redis.defineCommand('ledgerIdemRelease', { numberOfKeys: 1, lua: releaseScript });
  const scripts = redis as ScriptClient;

  const call = async <A>(operation: string, run: () => Promise<A>): Promise<A> => {
    try {
      return await run();
    } catch (error) {
      throw isRedisOutage(error) ? storeUnavailable(operation, error) : error;
    }
  };

  const ttlMap = <V>(label: string, namespace: string, codec: t.Type<V, unknown, unknown>): TtlMap<V> => {
    const k = (key: string) => `${prefix}${namespace}:${key}`;
    // Decoding happens outside `call` so a corrupt value surfaces as the bug it
    // is, not as an outage.
    const decode = (json: string | null) => (json === null ? undefined : decodeStored(codec, namespace, json));
    return {
      put: async (key, value, ttlMs) => {
        assertTtl(ttlMs);
        const json = JSON.stringify(codec.encode(value));
        await call(`${label}.put`, () => redis.set(k(key), json, 'PX', ttlMs));
      },
      get: async (key) => decode(await call(`${label}.get`, () => redis.get(k(key)))),
      consume: async (key) => decode(await call(`${label}.consume`, () => redis.getdel(k(key)))),
      delete: async (key) => {
        await call(`${label}.delete`, () => redis.del(k(key)));
      },
    };
  };

  const idemKey = (key: string) => `${prefix}idem:${key}`;
  const idempotency: IdempotencyStore = {
    putIfAbsent: async (key, requestHash, reservationTtlMs): Promise<IdempotencyReservation> => {
      assertTtl(reservationTtlMs);
      const entry = JSON.stringify({ state: 'in_progress', requestHash });
      const existing = await call('idempotency.putIfAbsent', () =>
        scripts.ledgerIdemReserve(idemKey(key), entry, reservationTtlMs),
      );
      return existing === null ? { _tag: 'reserved' } : decodeIdempotencyEntry(existing);
    },
    complete: async (key, response, ttlMs) => {
      assertTtl(ttlMs);
      const entry = JSON.stringify({ state: 'completed', ...response });
      await call('idempotency.complete', () => redis.set(idemKey(key), entry, 'PX', ttlMs));
    },
    release: async (key) => {
      await call('idempotency.release', () => scripts.ledgerIdemRelease(idemKey(key)));
    },
  };

  return {
    kind: 'redis',
    verificationCodes: ttlMap('verificationCodes', 'vc', VerificationCodeRecord),
    oauthStates: ttlMap('oauthStates', 'oauth', OAuthStateRecord),
    sessionTokens: ttlMap('sessionTokens', 'st', SessionTokenRecord),
    idempotency,
  };
};
