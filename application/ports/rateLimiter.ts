/**
 * The RateLimiter port: requests and model tokens per user per window,
 * shared by the REST and WebSocket gateways. Both adapters (in-process and
 * Redis) implement the same pair of token buckets and pass one contract suite
 * (test/contract/rateLimiter.contract.ts).
 *
 * Semantics (token bucket, one bucket per dimension and key):
 * - Each bucket holds at most its limit and refills continuously at
 *   `limit / windowMs`, so a key that was idle for a whole window is full again.
 * - `consume` checks both buckets and takes from both only if both have
 *   enough; a refusal takes nothing.
 * - Token usage is known only after the provider answers, so a caller
 *   consumes its estimate first and then calls `correctTokens` with the actual
 *   count: unused tokens go back, extra usage is taken (the bucket may go
 *   below zero, down to minus one window's worth, which delays the next
 *   requests instead of refusing the one already served).
 *
 * An outage rejects with `LimiterUnavailable`; callers refuse the request
 * (503 / PROVIDER_UNAVAILABLE-style error). The limiter never "allows" when it
 * cannot decide.
 */

export type RateLimits = {
  /** Requests allowed per window (bucket capacity). Positive integer. */
  readonly requests: number;
  /** Model tokens allowed per window (bucket capacity). Positive integer. */
  readonly tokens: number;
  /** Length of the window in ms: 60_000 for "per minute". */
  readonly windowMs: number;
};

export const perMinute = (requests: number, tokens: number): RateLimits => ({ requests, tokens, windowMs: 60_000 });

export type RateCost = {
  /** Usually 1. */
  readonly requests: number;
  /** The estimate of tokens this request will use (prompt + max output). */
  readonly tokens: number;
};

export type RateDecision =
  | {
      readonly allowed: true;
      /** What is left in each bucket after this request, rounded down. */
      readonly remaining: { readonly requests: number; readonly tokens: number };
    }
  | {
      readonly allowed: false;
      /** The bucket that refused (the one that needs longer to refill when both do). */
      readonly limit: 'requests' | 'tokens';
      /** The refusing bucket's capacity per window, for RateLimit-* headers. */
      readonly limitPerWindow: number;
      /** Wait until both buckets hold enough for this cost (ms, rounded up). */
      readonly retryAfterMs: number;
      /**
       * False when the cost exceeds a bucket's capacity: waiting cannot help
       * (the caller should lower max tokens instead).
       */
      readonly retryable: boolean;
    };

export type RateLimiter = {
  /** A short name for logs and /health ("inprocess", "redis"). */
  readonly kind: string;
  /**
   * Atomically takes `cost` from the key's buckets if both hold enough.
   * `limits` overrides the configured limits for this key (per-user plans).
   */
  readonly consume: (key: string, cost: RateCost, limits?: RateLimits) => Promise<RateDecision>;
  /**
   * Corrects the token bucket once actual usage is known: returns
   * `estimated - actual` tokens when positive, takes the difference when negative.
   * Pass the same `limits` override as to `consume`.
   */
  readonly correctTokens: (
    key: string,
    usage: { readonly estimated: number; readonly actual: number },
    limits?: RateLimits,
  ) => Promise<void>;
};

/** The limiter's store is unreachable or timed out. Thrown (rejected), never returned. */
export type LimiterUnavailable = Error & {
  readonly _tag: 'LimiterUnavailable';
  readonly operation: string;
};

export const limiterUnavailable = (operation: string, cause: unknown): LimiterUnavailable =>
  Object.assign(
    new Error(`rate limiter unavailable during ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    }),
    { _tag: 'LimiterUnavailable' as const, operation },
  );

export const isLimiterUnavailable = (error: unknown): error is LimiterUnavailable =>
  error instanceof Error && (error as { _tag?: unknown })._tag === 'LimiterUnavailable';

/** Validates limits once, at configuration time; a bad value is a bug in config decoding. */
export const assertValidLimits = (limits: RateLimits): RateLimits => {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`rate limit "${name}" must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
};
