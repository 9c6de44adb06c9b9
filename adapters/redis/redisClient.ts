import { Redis, ReplyError } from 'ioredis';

export type RedisClientOptions = {
  /** A command without a reply after this long fails (ms). */
  readonly commandTimeoutMs?: number;
  /** A (re)connection attempt that takes longer than this is abandoned (ms). */
  readonly connectTimeoutMs?: number;
  /** Upper bound on the pause between reconnection attempts (ms). */
  readonly reconnectMaxDelayMs?: number;
  /** Connection errors, once per failed attempt; give it a logger. Default: ignored. */
  readonly onError?: (error: Error) => void;
};

/**
 * A Redis client that fails fast instead of queueing. Rate limits and session
 * lookups are on the request path: when Redis is down, the right answer is an
 * immediate 503, not a request that hangs until the offline queue flushes.
 *
 * - `enableOfflineQueue: false`: a command issued while disconnected is
 *   rejected at once rather than buffered.
 * - `maxRetriesPerRequest: 0`: a command in flight when the connection drops is
 *   rejected at once rather than resent after reconnection (a resent
 *   rate-limit script could otherwise count twice).
 * - `commandTimeout`: covers a server that accepts the connection but stops
 *   answering (a paused process, a black-holed network).
 * - `retryStrategy`: reconnection never gives up, with a capped backoff, so the
 *   same client works again as soon as Redis is back.
 *
 * Lua scripts are sent with EVALSHA and fall back to EVAL on NOSCRIPT (ioredis
 * does this), so a restarted Redis with an empty script cache needs nothing.
 */
export const makeRedisClient = (url: string, options: RedisClientOptions = {}): Redis => {
  const maxDelayMs = options.reconnectMaxDelayMs ?? 1000;
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelayMs),
  });
  // Without a listener ioredis prints every failed reconnection attempt itself.
  redis.on('error', options.onError ?? (() => undefined));
  return redis;
};

/**
 * Resolves once the client is connected and ready. With the offline queue
 * off, commands issued before this are refused, so the composition root awaits
 * it at start-up (and fails start-up if Redis is not there in time).
 */
export const redisReady = (redis: Redis, timeoutMs = 5000): Promise<void> => {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
};

/**
 * Server replies that mean "not now" rather than "your command is wrong":
 * loading the dataset, a replica that is read-only or lost its master, a busy
 * script. Any other reply error is a bug in our commands and is rethrown as is.
 */
const transientReplies = ['LOADING', 'READONLY', 'MASTERDOWN', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'OOM'];

export const isRedisOutage = (error: unknown): boolean => {
  if (error instanceof ReplyError) {
    const message = (error as Error).message;
    return transientReplies.some((prefix) => message.startsWith(prefix));
  }
  // Connection refused/reset, "Stream isn't writeable", "Command timed out",
  // MaxRetriesPerRequestError, "Connection is closed": all outages.
  return error instanceof Error;
};

/** Deletes every key under `prefix` (test clean-up, never on the request path). */
export const deleteByPrefix = async (redis: Redis, prefix: string): Promise<number> => {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
};

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
