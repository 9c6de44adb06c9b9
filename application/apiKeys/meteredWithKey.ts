import * as E from 'fp-ts/lib/Either.js';
import { holdFor, resolveMaxTokens } from '../../domain/pricing/charge.js';
import type { PriceSheet } from '../../domain/pricing/priceSheet.js';
import type { GatewayError } from '../gateway/errors.js';
import type { CompletionDone, CompletionRequest, CompletionSink, MeteredCompletion } from '../gateway/meteredCompletion.js';
import type { Ids, Logger } from '../ports/clock.js';
import type { ProviderSelector } from '../ports/providerSelector.js';
import type { RateLimiter } from '../ports/rateLimiter.js';
import { perMinute } from '../ports/rateLimiter.js';
import type { ApiKeys, KeyPrincipal } from './keys.js';

/**
 * A metered completion paid through an API key. The key's limit is enforced
 * by a hold of its own, taken before the account's:
 *
 * 1. the key's model allow-list and its own rate limits;
 * 2. a hold on the key stream for the most the request can cost (the largest
 *    hold any of its provider candidates would take), decided against the
 *    key's limit for the current period;
 * 3. the unchanged metered completion on the owner account (permission, the
 *    account's rate limit, the account hold, fallback, settle);
 * 4. the key hold settled with what the account was charged, or released.
 *
 * The key hold is durable before the account hold is taken, so neither limit
 * can be passed under any concurrency. A crash between the steps leaves a key
 * hold that expires after `holdTtlMs`, like the account's.
 */
export type KeyedError =
  | GatewayError
  | { readonly _tag: 'ModelNotAllowed'; readonly model: string }
  | { readonly _tag: 'KeyLimitReached'; readonly needed: number; readonly available: number }
  | { readonly _tag: 'KeyRevoked' };

export type MeteredWithKeyDeps = {
  readonly completion: Pick<MeteredCompletion, 'run'>;
  readonly keys: Pick<ApiKeys, 'placeHold' | 'settleHold' | 'releaseHold'>;
  readonly select: ProviderSelector;
  readonly prices: () => PriceSheet;
  readonly limiter: RateLimiter;
  readonly ids: Ids;
  readonly logger: Logger;
  readonly holdTtlMs: number;
};

/** The request as the key pays it: the owner account is the one charged. */
export type KeyedRequest = Omit<CompletionRequest, 'userId'>;

type Estimate = { readonly holdCredits: number; readonly costTokens: number };

/** The largest hold any candidate would take; undefined when no candidate can run (the completion refuses it, charging nothing). */
export const estimateFor = (deps: Pick<MeteredWithKeyDeps, 'select' | 'prices'>, req: KeyedRequest): Estimate | undefined => {
  const sheet = deps.prices();
  const candidates = deps.select(req.preference, req.model);
  const primary = candidates[0];
  if (primary === undefined) return undefined;
  const primaryMax = resolveMaxTokens(sheet, primary.model, req.maxTokens);
  if (E.isLeft(primaryMax)) return undefined;
  const estimate = primary.provider.estimateInputTokens({ model: primary.model, messages: req.messages, maxTokens: primaryMax.right });
  let holdCredits = 0;
  for (const candidate of candidates) {
    const maxTokens = resolveMaxTokens(sheet, candidate.model, req.maxTokens);
    if (E.isLeft(maxTokens)) continue;
    const hold = holdFor(sheet, candidate.model, estimate, maxTokens.right);
    if (E.isRight(hold)) holdCredits = Math.max(holdCredits, hold.right.credits);
  }
  return holdCredits === 0 ? undefined : { holdCredits, costTokens: estimate + primaryMax.right };
};

/** What the account was charged, whatever the outcome. */
const chargedOf = (outcome: E.Either<GatewayError, CompletionDone>): number =>
  E.isRight(outcome) ? outcome.right.charged : 'settled' in outcome.left && outcome.left.settled !== undefined ? outcome.left.settled.charged : 0;

export const makeMeteredWithKey = (deps: MeteredWithKeyDeps) => {
  const { keys, logger } = deps;

  const rateLimit = async (key: KeyPrincipal, costTokens: number): Promise<KeyedError | undefined> => {
    if (key.rateLimits === null) return undefined;
    const limits = perMinute(key.rateLimits.requestsPerMin, key.rateLimits.tokensPerMin);
    try {
      const rate = await deps.limiter.consume(`apikey:${key.keyId}`, { requests: 1, tokens: costTokens }, limits);
      return rate.allowed ? undefined : { _tag: 'RateLimited', retryAfterMs: rate.retryAfterMs, limit: rate.limit, retryable: rate.retryable };
    } catch (error) {
      return { _tag: 'LimiterUnavailable', message: (error as Error).message };
    }
  };

  const closeHold = async (key: KeyPrincipal, reservationId: string, amount: number, charged: number, requestId: string) => {
    try {
      if (charged > 0) {
        if (charged > amount) logger.warn({ requestId, keyId: key.keyId, charged, amount }, 'account charge above the key hold (price sheet changed?); key spend capped at its hold');
        const settled = await keys.settleHold(key.keyId, reservationId, Math.min(charged, amount), requestId);
        if (E.isLeft(settled)) logger.error({ requestId, keyId: key.keyId, error: settled.left._tag }, 'key hold settle refused');
      } else {
        const released = await keys.releaseHold(key.keyId, reservationId, 'nothing_charged', requestId);
        if (E.isLeft(released)) logger.error({ requestId, keyId: key.keyId, error: released.left._tag }, 'key hold release refused');
      }
    } catch (error) {
      logger.error({ requestId, keyId: key.keyId, reservationId, err: (error as Error).message }, 'closing the key hold failed; it will expire');
    }
  };

  const run = async (key: KeyPrincipal, req: KeyedRequest, sink: CompletionSink, signal: AbortSignal): Promise<E.Either<KeyedError, CompletionDone>> => {
    if (key.models !== null && !key.models.includes(req.model)) return E.left({ _tag: 'ModelNotAllowed', model: req.model });
    const request: CompletionRequest = { ...req, userId: key.accountId };
    const estimate = estimateFor(deps, req);
    // Nothing can be charged for a request no candidate can run: the completion refuses it with its own error.
    if (estimate === undefined) return deps.completion.run(request, sink, signal);
    const limited = await rateLimit(key, estimate.costTokens);
    if (limited !== undefined) return E.left(limited);
    const reservationId = `key-${deps.ids.newId()}`;
    const held = await keys.placeHold(key.keyId, reservationId, estimate.holdCredits, deps.holdTtlMs, req.requestId);
    if (E.isLeft(held)) {
      const refusal = held.left;
      if (refusal._tag === 'KeyLimitReached') return E.left({ _tag: 'KeyLimitReached', needed: refusal.requested, available: Math.max(0, refusal.limit - refusal.spent - refusal.held) });
      if (refusal._tag === 'KeyRevoked' || refusal._tag === 'KeyNotFound') return E.left({ _tag: 'KeyRevoked' });
      return E.left({ _tag: 'InvalidRequest', message: refusal._tag });
    }
    let outcome: E.Either<GatewayError, CompletionDone>;
    try {
      outcome = await deps.completion.run(request, sink, signal);
    } catch (error) {
      await closeHold(key, reservationId, estimate.holdCredits, 0, req.requestId);
      throw error;
    }
    await closeHold(key, reservationId, estimate.holdCredits, chargedOf(outcome), req.requestId);
    if (key.rateLimits !== null && E.isRight(outcome)) {
      const limits = perMinute(key.rateLimits.requestsPerMin, key.rateLimits.tokensPerMin);
      const actual = outcome.right.usage.inputTokens + outcome.right.usage.outputTokens;
      deps.limiter.correctTokens(`apikey:${key.keyId}`, { estimated: estimate.costTokens, actual }, limits).catch(() => undefined);
    }
    return outcome;
  };

  return { run };
};

export type MeteredWithKey = ReturnType<typeof makeMeteredWithKey>;
