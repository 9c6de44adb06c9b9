/** The in-process twins of the Redis adapters, used when REDIS_URL is unset and in fast tests. */
export { makeInProcessRateLimiter } from './inProcessRateLimiter.js';
export type { InProcessRateLimiterOptions } from './inProcessRateLimiter.js';
export { makeInProcessSessionStore } from './inProcessSessionStore.js';
export type { InProcessSessionStoreOptions } from './inProcessSessionStore.js';
