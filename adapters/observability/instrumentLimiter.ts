import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RateLimiter } from '../../application/ports/rateLimiter.js';

/** A RateLimiter decorator counting refusals by the bucket that refused, for REST and WebSocket alike. */
export const instrumentRateLimiter = (limiter: RateLimiter, registry: Registry): RateLimiter => {
  const refusals = new Counter({ name: 'rate_limit_refusals_total', help: 'Requests refused by the rate limiter, by the bucket that refused (requests, tokens).', labelNames: ['limit'] as const, registers: [registry] });
  return {
    ...limiter,
    consume: async (key, cost, limits) => {
      const decision = await limiter.consume(key, cost, limits);
      if (!decision.allowed) refusals.inc({ limit: decision.limit });
      return decision;
    },
  };
};
