import type { RateCost, RateDecision, RateLimits } from '../../application/ports/rateLimiter.js';

/**
 * The pure arithmetic of the two token buckets. The in-process limiter uses it
 * directly; adapters/redis/rateLimitScript.ts is a line-by-line Lua port of it, and the
 * shared contract suite keeps the two in step.
 */
export type BucketState = {
  readonly requests: number;
  readonly tokens: number;
  /** When the levels above were computed (ms). */
  readonly updatedAt: number;
};

/** The levels at `nowMs`: refilled at `limit / windowMs`, capped at the limit. */
export const refill = (state: BucketState | undefined, limits: RateLimits, nowMs: number): BucketState => {
  if (state === undefined) return { requests: limits.requests, tokens: limits.tokens, updatedAt: nowMs };
  // A clock that steps backwards must not refill twice, so time only moves forward.
  const elapsedMs = Math.max(0, nowMs - state.updatedAt);
  return {
    requests: Math.min(limits.requests, state.requests + (elapsedMs * limits.requests) / limits.windowMs),
    tokens: Math.min(limits.tokens, state.tokens + (elapsedMs * limits.tokens) / limits.windowMs),
    updatedAt: Math.max(nowMs, state.updatedAt),
  };
};

const waitMs = (shortfall: number, capacity: number, windowMs: number): number =>
  shortfall <= 0 ? 0 : Math.ceil((shortfall * windowMs) / capacity);

export type Step = { readonly decision: RateDecision; readonly next: BucketState | undefined };

/** Decides one `consume` on refilled levels; `next` is undefined when nothing changes. */
export const take = (levels: BucketState, cost: RateCost, limits: RateLimits): Step => {
  if (cost.requests > limits.requests || cost.tokens > limits.tokens) {
    const limit = cost.requests > limits.requests ? 'requests' : 'tokens';
    return {
      decision: { allowed: false, limit, limitPerWindow: limits[limit], retryAfterMs: limits.windowMs, retryable: false },
      next: undefined,
    };
  }
  const requestsWaitMs = waitMs(cost.requests - levels.requests, limits.requests, limits.windowMs);
  const tokensWaitMs = waitMs(cost.tokens - levels.tokens, limits.tokens, limits.windowMs);
  if (requestsWaitMs > 0 || tokensWaitMs > 0) {
    const limit = tokensWaitMs > requestsWaitMs ? 'tokens' : 'requests';
    return {
      decision: {
        allowed: false,
        limit,
        limitPerWindow: limits[limit],
        retryAfterMs: Math.max(requestsWaitMs, tokensWaitMs),
        retryable: true,
      },
      next: undefined,
    };
  }
  const next = { requests: levels.requests - cost.requests, tokens: levels.tokens - cost.tokens, updatedAt: levels.updatedAt };
  return {
    decision: {
      allowed: true,
      remaining: { requests: Math.floor(next.requests), tokens: Math.floor(next.tokens) },
    },
    next,
  };
};

/** Applies a usage correction: positive `deltaTokens` takes, negative returns, within [-limit, limit]. */
export const correct = (levels: BucketState, deltaTokens: number, limits: RateLimits): BucketState => ({
  ...levels,
  tokens: Math.max(-limits.tokens, Math.min(limits.tokens, levels.tokens - deltaTokens)),
});

/** How long until a bucket at these levels is full again, so its key may be forgotten. */
export const fullAfterMs = (levels: BucketState, limits: RateLimits): number =>
  Math.max(
    waitMs(limits.requests - levels.requests, limits.requests, limits.windowMs),
    waitMs(limits.tokens - levels.tokens, limits.tokens, limits.windowMs),
  );

export const assertValidCost = (cost: RateCost): void => {
  if (!Number.isSafeInteger(cost.requests) || cost.requests < 0 || !Number.isSafeInteger(cost.tokens) || cost.tokens < 0) {
    throw new RangeError(`rate cost must be non-negative integers, got ${JSON.stringify(cost)}`);
  }
};
