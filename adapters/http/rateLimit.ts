import type { RateLimiter } from '../../application/ports/rateLimiter.js';
import { isLimiterUnavailable } from '../../application/ports/rateLimiter.js';
import { gatewayErrorToProblem, withCause } from './problems.js';

/**
 * One REST request costs one request from the caller's bucket, the same
 * per-user bucket the WebSocket gateway uses (key = user id), so a user's
 * budget is shared across both doors. A refusal is a 429 with Retry-After; a
 * limiter outage is a 503, never an unlimited pass.
 */
export const consumeRestRequest = async (limiter: RateLimiter, userId: string): Promise<void> => {
  let decision;
  try {
    decision = await limiter.consume(userId, { requests: 1, tokens: 0 });
  } catch (error) {
    if (isLimiterUnavailable(error)) throw withCause(gatewayErrorToProblem({ _tag: 'LimiterUnavailable', message: 'The rate limiter is unreachable; retry shortly.' }), error);
    throw error;
  }
  if (!decision.allowed) {
    throw gatewayErrorToProblem({ _tag: 'RateLimited', retryAfterMs: decision.retryAfterMs, limit: decision.limit, retryable: decision.retryable });
  }
};
