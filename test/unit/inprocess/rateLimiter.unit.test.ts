import { describe, expect, it } from '@jest/globals';
import { makeInProcessRateLimiter } from '../../../adapters/inprocess/inProcessRateLimiter.js';
import { rateLimiterContract } from '../../contract/rateLimiter.contract.js';

rateLimiterContract('inprocess', async (limits) => {
  let nowMs = 1_700_000_000_000;
  return {
    limiter: makeInProcessRateLimiter({ limits, now: () => nowMs, sweepEvery: 5 }),
    advance: (ms) => {
      nowMs += ms;
    },
    close: async () => undefined,
  };
});

describe('in-process rate limiter', () => {
  it('refuses invalid default limits at construction', () => {
    expect(() => makeInProcessRateLimiter({ limits: { requests: 10, tokens: -1, windowMs: 60_000 } })).toThrow(RangeError);
  });

  it('forgets a bucket once it has refilled, without changing any answer', async () => {
    let nowMs = 0;
    const limits = { requests: 2, tokens: 10, windowMs: 1000 };
    const limiter = makeInProcessRateLimiter({ limits, now: () => nowMs, sweepEvery: 1 });
    await limiter.consume('a', { requests: 2, tokens: 10 });
    nowMs += 1000;
    // This call sweeps 'a' (full again) before deciding for 'b'.
    await limiter.consume('b', { requests: 1, tokens: 1 });
    expect(await limiter.consume('a', { requests: 2, tokens: 10 })).toEqual({
      allowed: true,
      remaining: { requests: 0, tokens: 0 },
    });
  });
});
