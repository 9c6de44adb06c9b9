import type { RateCost, RateLimiter, RateLimits } from '../../application/ports/rateLimiter.js';
import { assertValidLimits } from '../../application/ports/rateLimiter.js';
import type { BucketState } from './tokenBucket.js';
import { assertValidCost, correct, fullAfterMs, refill, take } from './tokenBucket.js';

export type InProcessRateLimiterOptions = {
  readonly limits: RateLimits;
  /** The clock (ms since epoch); tests inject one they can move. */
  readonly now?: () => number;
  /** Sweep buckets that are full again every this many calls. */
  readonly sweepEvery?: number;
};

/**
 * The in-process twin of the Redis limiter, for a single gateway process and
 * for tests. JavaScript runs each call to completion before the next, so every
 * operation is atomic without locks.
 */
export const makeInProcessRateLimiter = (options: InProcessRateLimiterOptions): RateLimiter => {
  const defaults = assertValidLimits(options.limits);
  const now = options.now ?? Date.now;
  const sweepEvery = options.sweepEvery ?? 1000;
  // A full bucket is the same as no bucket, so entries can be forgotten once
  // they have refilled; the map therefore holds only recently active keys.
  const buckets = new Map<string, { state: BucketState; limits: RateLimits }>();
  let calls = 0;

  const sweep = (nowMs: number) => {
    for (const [key, entry] of buckets) {
      if (fullAfterMs(refill(entry.state, entry.limits, nowMs), entry.limits) === 0) buckets.delete(key);
    }
  };

  const tick = (nowMs: number) => {
    calls += 1;
    if (calls % sweepEvery === 0) sweep(nowMs);
  };

  const consume = async (key: string, cost: RateCost, override?: RateLimits) => {
    assertValidCost(cost);
    const limits = override === undefined ? defaults : assertValidLimits(override);
    const nowMs = now();
    tick(nowMs);
    const levels = refill(buckets.get(key)?.state, limits, nowMs);
    const step = take(levels, cost, limits);
    if (step.next !== undefined) buckets.set(key, { state: step.next, limits });
    return step.decision;
  };

  const correctTokens = async (
    key: string,
    usage: { readonly estimated: number; readonly actual: number },
    override?: RateLimits,
  ) => {
    assertValidCost({ requests: 0, tokens: usage.estimated });
    assertValidCost({ requests: 0, tokens: usage.actual });
    const limits = override === undefined ? defaults : assertValidLimits(override);
    const nowMs = now();
    tick(nowMs);
    const levels = refill(buckets.get(key)?.state, limits, nowMs);
    buckets.set(key, { state: correct(levels, usage.actual - usage.estimated, limits), limits });
  };

  return { kind: 'inprocess', consume, correctTokens };
};
