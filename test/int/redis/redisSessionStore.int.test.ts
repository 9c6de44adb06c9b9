import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { isStoreUnavailable } from '../../../application/ports/sessionStore.js';
import { deleteByPrefix, makeRedisClient, redisReady } from '../../../adapters/redis/redisClient.js';
import { makeRedisSessionStore } from '../../../adapters/redis/redisSessionStore.js';
import { sessionStoreContract } from '../../contract/sessionStore.contract.js';
import { describeWithRedis, redisUrl, uniquePrefix } from './redisTestKit.js';

const describeRedis = await describeWithRedis();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeRedis('Redis session store', () => {
  const prefix = uniquePrefix('sessions');
  let redis: Redis;
  beforeAll(async () => {
    redis = makeRedisClient(redisUrl);
    await redisReady(redis);
  });
  afterAll(async () => {
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  sessionStoreContract('redis', async () => ({
    store: makeRedisSessionStore({ redis, prefix }),
    advance: sleep,
    close: async () => undefined,
  }));

  it('keeps every key under its prefix with a server-side TTL', async () => {
    const store = makeRedisSessionStore({ redis, prefix });
    await store.sessionTokens.put('k1', { sessionId: 's', userId: 'u', expiresAt: 1 }, 60_000);
    await store.idempotency.putIfAbsent('k1', 'h', 30_000);
    expect(await redis.get('st:k1')).toBeNull();
    const ttlMs = await redis.pttl(`${prefix}st:k1`);
    expect(ttlMs).toBeGreaterThan(59_000);
    expect(ttlMs).toBeLessThanOrEqual(60_000);
    expect(await redis.pttl(`${prefix}idem:k1`)).toBeGreaterThan(29_000);
  });

  it('a corrupt stored value is a bug (plain Error), not an outage and not a miss', async () => {
    const store = makeRedisSessionStore({ redis, prefix });
    await redis.set(`${prefix}vc:corrupt`, JSON.stringify({ sessionId: 7 }), 'PX', 60_000);
    await redis.set(`${prefix}oauth:notjson`, '{', 'PX', 60_000);
    const error = await store.verificationCodes.get('corrupt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(isStoreUnavailable(error)).toBe(false);
    expect(String(error)).toMatch(/"vc" does not decode/);
    await expect(store.oauthStates.get('notjson')).rejects.toThrow(/not JSON/);
  });

  it('two stores with different prefixes share nothing', async () => {
    const other = uniquePrefix('sessions-other');
    const a = makeRedisSessionStore({ redis, prefix });
    const b = makeRedisSessionStore({ redis, prefix: other });
    await a.oauthStates.put('same', { codeHash: 'c', pkceVerifier: 'v', nonce: 'n' }, 60_000);
    expect(await b.oauthStates.get('same')).toBeUndefined();
    await deleteByPrefix(redis, other);
  });
});
