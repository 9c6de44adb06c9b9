/** The Redis adapters: one fail-fast client shared by the session store and the rate limiter. */
export { deleteByPrefix, isRedisOutage, makeRedisClient, redisReady } from './redisClient.js';
export type { RedisClientOptions } from './redisClient.js';
export { makeRedisRateLimiter } from './redisRateLimiter.js';
export type { RedisRateLimiterOptions } from './redisRateLimiter.js';
export { makeRedisSessionStore } from './redisSessionStore.js';
export type { RedisSessionStoreOptions } from './redisSessionStore.js';
