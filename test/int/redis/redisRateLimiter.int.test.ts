import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { deleteByPrefix, makeRedisClient, redisReady } from '../../../adapters/redis/redisClient.js';
import { makeRedisRateLimiter } from '../../../adapters/redis/redisRateLimiter.js';
import { rateLimiterContract } from '../../contract/rateLimiter.contract.js';
import { describeWithRedis, redisUrl, uniquePrefix } from './redisTestKit.js';

const describeRedis = await describeWithRedis();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeRedis('Redis rate limiter', () => {
  const prefix = uniquePrefix('limits');
  let redis: Redis;
  beforeAll(async () => {
    redis = makeRedisClient(redisUrl);
    await redisReady(redis);
  });
  afterAll(async () => {
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  rateLimiterContract('redis', async (limits) => {
    let nowMs = 1_700_000_000_000;
    return {
      limiter: makeRedisRateLimiter({ redis, prefix, limits, now: () => nowMs }),
      advance: (ms) => {
        nowMs += ms;
      },
      close: async () => undefined,
    };
  });

  it("on the server's own clock: refuses, then allows after retryAfterMs of real time", async () => {
    const limiter = makeRedisRateLimiter({ redis, prefix, limits: { requests: 3, tokens: 100, windowMs: 1500 } });
    const results = await Promise.all(Array.from({ length: 10 }, () => limiter.consume('clock', { requests: 1, tokens: 1 })));
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
    const refused = await limiter.consume('clock', { requests: 1, tokens: 1 });
    if (refused.allowed) throw new Error('expected a refusal');
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(500); // One request per 500 ms.
    await sleep(refused.retryAfterMs + 5);
    expect((await limiter.consume('clock', { requests: 1, tokens: 1 })).allowed).toBe(true);
  });

  it('a bucket key expires once it would be full again, so idle users cost no memory', async () => {
    const limiter = makeRedisRateLimiter({ redis, prefix, limits: { requests: 10, tokens: 100, windowMs: 60_000 } });
    await limiter.consume('ttl', { requests: 1, tokens: 50 });
    // Tokens are the slower bucket to refill: 50 of 100 at 100 per 60 s is 30 s.
    const ttlMs = await redis.pttl(`${prefix}rl:ttl`);
    expect(ttlMs).toBeGreaterThan(29_000);
    expect(ttlMs).toBeLessThanOrEqual(30_000);
  });

  it('a bug in a command (a reply error) is rethrown as is, not disguised as an outage', async () => {
    const limiter = makeRedisRateLimiter({ redis, prefix, limits: { requests: 10, tokens: 100, windowMs: 60_000 } });
    // A string where the bucket hash lives makes HMGET fail with WRONGTYPE.
    await redis.set(`${prefix}rl:wrongtype`, 'x', 'PX', 60_000);
    const error = await limiter.consume('wrongtype', { requests: 1, tokens: 1 }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/WRONGTYPE/);
    expect((error as { _tag?: string })._tag).toBeUndefined();
  });
});
