import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { RateDecision, RateLimiter, RateLimits } from '../../application/ports/rateLimiter.js';

/**
 * The one RateLimiter contract every adapter passes (in-process twin, Redis).
 * Both adapters take an injected clock, so the numbers below are exact: the
 * clock stands still unless a test moves it.
 */
export type RateLimiterHarness = {
  readonly limiter: RateLimiter;
  /** Moves the injected clock forward. */
  readonly advance: (ms: number) => void;
  readonly close: () => Promise<void>;
};

/** Builds a limiter with these default limits and a clock the harness controls. */
export type RateLimiterFactory = (limits: RateLimits) => Promise<RateLimiterHarness>;

const limits: RateLimits = { requests: 10, tokens: 1000, windowMs: 60_000 };
const userKey = () => `user-${randomUUID()}`;

const allowedCount = (decisions: readonly RateDecision[]) => decisions.filter((d) => d.allowed).length;

export const rateLimiterContract = (name: string, factory: RateLimiterFactory) => {
  describe(`RateLimiter contract: ${name}`, () => {
    let h: RateLimiterHarness;
    beforeAll(async () => {
      h = await factory(limits);
    });
    afterAll(async () => {
      await h.close();
    });

    it('allows up to the request limit, then refuses with the exact wait', async () => {
      const key = userKey();
      const first = await h.limiter.consume(key, { requests: 1, tokens: 10 });
      expect(first).toEqual({ allowed: true, remaining: { requests: 9, tokens: 990 } });
      for (let i = 0; i < 9; i++) expect((await h.limiter.consume(key, { requests: 1, tokens: 10 })).allowed).toBe(true);
      expect(await h.limiter.consume(key, { requests: 1, tokens: 10 })).toEqual({
        allowed: false,
        limit: 'requests',
        limitPerWindow: 10,
        // One request refills every 60_000 / 10 ms.
        retryAfterMs: 6000,
        retryable: true,
      });
    });

    it('refuses on tokens, names the token bucket, and a refusal takes nothing', async () => {
      const key = userKey();
      expect(await h.limiter.consume(key, { requests: 1, tokens: 900 })).toMatchObject({ allowed: true });
      expect(await h.limiter.consume(key, { requests: 1, tokens: 200 })).toEqual({
        allowed: false,
        limit: 'tokens',
        limitPerWindow: 1000,
        retryAfterMs: 6000, // 100 tokens short at 1000 per 60 s.
        retryable: true,
      });
      // Nothing was taken by the refusal: 9 requests and 100 tokens are still there.
      expect(await h.limiter.consume(key, { requests: 1, tokens: 100 })).toEqual({
        allowed: true,
        remaining: { requests: 8, tokens: 0 },
      });
    });

    it('retryAfterMs is honest: one ms early is refused, on time is allowed', async () => {
      const key = userKey();
      for (let i = 0; i < 10; i++) await h.limiter.consume(key, { requests: 1, tokens: 0 });
      const refused = await h.limiter.consume(key, { requests: 1, tokens: 0 });
      if (refused.allowed) throw new Error('expected a refusal');
      h.advance(refused.retryAfterMs - 1);
      expect((await h.limiter.consume(key, { requests: 1, tokens: 0 })).allowed).toBe(false);
      h.advance(1);
      expect(await h.limiter.consume(key, { requests: 1, tokens: 0 })).toMatchObject({ allowed: true });
      expect((await h.limiter.consume(key, { requests: 1, tokens: 0 })).allowed).toBe(false);
    });

    it('a full window later the buckets are full again', async () => {
      const key = userKey();
      await h.limiter.consume(key, { requests: 10, tokens: 1000 });
      expect((await h.limiter.consume(key, { requests: 1, tokens: 1 })).allowed).toBe(false);
      h.advance(limits.windowMs);
      expect(await h.limiter.consume(key, { requests: 1, tokens: 1 })).toEqual({
        allowed: true,
        remaining: { requests: 9, tokens: 999 },
      });
      // Idle for longer than a window does not store more than the limit.
      h.advance(10 * limits.windowMs);
      expect(await h.limiter.consume(key, { requests: 1, tokens: 0 })).toEqual({
        allowed: true,
        remaining: { requests: 9, tokens: 1000 },
      });
    });

    it('50 concurrent consumes: exactly the limit is allowed (requests, then tokens)', async () => {
      const byRequests = userKey();
      const a = await Promise.all(Array.from({ length: 50 }, () => h.limiter.consume(byRequests, { requests: 1, tokens: 1 })));
      expect(allowedCount(a)).toBe(10);
      const byTokens = userKey();
      const wide = { requests: 1000, tokens: 1000, windowMs: 60_000 };
      const b = await Promise.all(
        Array.from({ length: 50 }, () => h.limiter.consume(byTokens, { requests: 1, tokens: 30 }, wide)),
      );
      expect(allowedCount(b)).toBe(33); // floor(1000 / 30)
      const remaining = b.flatMap((d) => (d.allowed ? [d.remaining.tokens] : []));
      expect(Math.min(...remaining)).toBe(10);
    });

    it('a cost above capacity is refused as not retryable', async () => {
      const key = userKey();
      expect(await h.limiter.consume(key, { requests: 1, tokens: 1001 })).toMatchObject({
        allowed: false,
        limit: 'tokens',
        retryable: false,
      });
      expect(await h.limiter.consume(key, { requests: 11, tokens: 0 })).toMatchObject({
        allowed: false,
        limit: 'requests',
        retryable: false,
      });
      expect((await h.limiter.consume(key, { requests: 1, tokens: 1000 })).allowed).toBe(true);
    });

    it('correctTokens returns an overestimate and takes an underestimate', async () => {
      const key = userKey();
      await h.limiter.consume(key, { requests: 1, tokens: 800 });
      await h.limiter.correctTokens(key, { estimated: 800, actual: 300 });
      expect(await h.limiter.consume(key, { requests: 1, tokens: 0 })).toEqual({
        allowed: true,
        remaining: { requests: 8, tokens: 700 },
      });
      await h.limiter.correctTokens(key, { estimated: 100, actual: 600 });
      expect(await h.limiter.consume(key, { requests: 1, tokens: 0 })).toMatchObject({ remaining: { tokens: 200 } });
    });

    it('an underestimate may leave a debt of at most one window', async () => {
      const key = userKey();
      await h.limiter.consume(key, { requests: 1, tokens: 1000 });
      await h.limiter.correctTokens(key, { estimated: 1000, actual: 50_000 });
      // The debt is capped at -1000: one window back to zero, 60 ms more for one token.
      expect(await h.limiter.consume(key, { requests: 1, tokens: 1 })).toMatchObject({
        allowed: false,
        limit: 'tokens',
        retryAfterMs: 60_060,
      });
      h.advance(limits.windowMs);
      expect(await h.limiter.consume(key, { requests: 1, tokens: 0 })).toMatchObject({
        allowed: true,
        remaining: { tokens: 0 },
      });
      h.advance(60);
      expect((await h.limiter.consume(key, { requests: 1, tokens: 1 })).allowed).toBe(true);
    });

    it('keys are independent and a per-key override applies', async () => {
      const a = userKey();
      const b = userKey();
      await h.limiter.consume(a, { requests: 10, tokens: 0 });
      expect((await h.limiter.consume(a, { requests: 1, tokens: 0 })).allowed).toBe(false);
      expect((await h.limiter.consume(b, { requests: 1, tokens: 0 })).allowed).toBe(true);
      const premium = { requests: 100, tokens: 10_000, windowMs: 60_000 };
      expect((await h.limiter.consume(userKey(), { requests: 1, tokens: 5000 })).allowed).toBe(false);
      expect(await h.limiter.consume(userKey(), { requests: 1, tokens: 5000 }, premium)).toEqual({
        allowed: true,
        remaining: { requests: 99, tokens: 5000 },
      });
    });

    it('refuses a malformed cost or limits as a bug (RangeError)', async () => {
      const key = userKey();
      await expect(h.limiter.consume(key, { requests: -1, tokens: 0 })).rejects.toThrow(RangeError);
      await expect(h.limiter.consume(key, { requests: 1, tokens: 1.5 })).rejects.toThrow(RangeError);
      await expect(h.limiter.consume(key, { requests: 1, tokens: 1 }, { requests: 0, tokens: 1, windowMs: 1 })).rejects.toThrow(
        RangeError,
      );
      await expect(h.limiter.correctTokens(key, { estimated: -1, actual: 0 })).rejects.toThrow(RangeError);
    });
  });
};
