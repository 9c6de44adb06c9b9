import type { Redis } from 'ioredis';
import type { RateCost, RateDecision, RateLimiter, RateLimits } from '../../application/ports/rateLimiter.js';
import { assertValidLimits, limiterUnavailable } from '../../application/ports/rateLimiter.js';
import { assertValidCost } from '../inprocess/tokenBucket.js';
import { isRedisOutage } from './redisClient.js';
import { rateLimitScript } from './rateLimitScript.js';

export type RedisRateLimiterOptions = {
  /** A client from makeRedisClient (fail-fast settings). Not closed by the limiter. */
  readonly redis: Redis;
  /** Prepended to every key: one per deployment, one per test run. */
  readonly prefix: string;
  readonly limits: RateLimits;
  /**
   * The clock. Default: the Redis server's own (TIME inside the script), so
   * several gateway instances with skewed clocks still agree. Tests inject one.
   */
  readonly now?: () => number;
};

type ScriptReply = readonly (number | string)[];
type ScriptClient = Redis & {
  ledgerRateLimit: (key: string, ...args: (string | number)[]) => Promise<ScriptReply>;
};

const decodeDecision = (reply: ScriptReply, limits: RateLimits): RateDecision => {
  const [allowed, second, third, fourth] = reply;
  if (allowed === 1 && typeof second === 'number' && typeof third === 'number') {
    return { allowed: true, remaining: { requests: second, tokens: third } };
  }
  if (allowed === 0 && (second === 'requests' || second === 'tokens') && typeof third === 'number') {
    return { allowed: false, limit: second, limitPerWindow: limits[second], retryAfterMs: third, retryable: fourth === 1 };
  }
  throw new Error(`rate limiter: unexpected script reply ${JSON.stringify(reply)}`);
};

/**
 * The Redis rate limiter: one Lua script per call (see rateLimitScript.ts for
 * the algorithm and why), so concurrent gateways never both take the last
 * unit. Any outage rejects with LimiterUnavailable; it never allows blindly.
 */
export const makeRedisRateLimiter = (options: RedisRateLimiterOptions): RateLimiter => {
  const { redis, prefix } = options;
  const defaults = assertValidLimits(options.limits);
  redis.defineCommand('ledgerRateLimit', { numberOfKeys: 1, lua: rateLimitScript });
  const scripts = redis as ScriptClient;
  const nowArg = () => (options.now === undefined ? '' : String(Math.floor(options.now())));

  const run = async (operation: string, key: string, limits: RateLimits, args: readonly (string | number)[]) => {
    try {
      return await scripts.ledgerRateLimit(
        `${prefix}rl:${key}`,
        nowArg(),
        limits.windowMs,
        limits.requests,
        limits.tokens,
        ...args,
      );
    } catch (error) {
      throw isRedisOutage(error) ? limiterUnavailable(operation, error) : error;
    }
  };

  const consume = async (key: string, cost: RateCost, override?: RateLimits) => {
    assertValidCost(cost);
    const limits = override === undefined ? defaults : assertValidLimits(override);
    const reply = await run('consume', key, limits, ['consume', cost.requests, cost.tokens]);
    return decodeDecision(reply, limits);
  };

  const correctTokens = async (
    key: string,
    usage: { readonly estimated: number; readonly actual: number },
    override?: RateLimits,
  ) => {
    assertValidCost({ requests: 0, tokens: usage.estimated });
    assertValidCost({ requests: 0, tokens: usage.actual });
    const limits = override === undefined ? defaults : assertValidLimits(override);
    await run('correctTokens', key, limits, ['correct', usage.actual - usage.estimated]);
  };

  return { kind: 'redis', consume, correctTokens };
};
