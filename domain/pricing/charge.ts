import * as E from 'fp-ts/lib/Either.js';
import type { Credits } from '../shared/money.js';
import type { ModelPrice, PriceSheet } from './priceSheet.js';

/**
 * Charges and holds, in integer arithmetic only.
 *
 * Rounding rule: each side of a request is rounded up on its own,
 *   inputCredits  = ceil(inputTokens  * inputPer1k  / 1000)
 *   outputCredits = ceil(outputTokens * outputPer1k / 1000)
 *   total         = inputCredits + outputCredits
 * so a request never costs less than its exact price and at most one credit
 * more per side. The hold applies the same formula to an upper bound of the
 * usage (the input estimate plus its safety margin, and max_tokens), and the
 * formula is monotonic in the token counts, so the hold covers every usage
 * inside those bounds. A usage outside them (the provider counted more input
 * than our margin allowed for) is clamped to the hold by `settleCharge`: the
 * ledger refuses to settle above a hold.
 */

export type PricingError =
  | { readonly _tag: 'UnknownModel'; readonly model: string }
  | { readonly _tag: 'InvalidMaxTokens'; readonly model: string; readonly requested: number; readonly max: number }
  | { readonly _tag: 'InvalidTokenCount'; readonly value: number }
  | { readonly _tag: 'UnknownResolution'; readonly model: string; readonly resolution: string }
  | { readonly _tag: 'InvalidDuration'; readonly seconds: number };

export type TokenUsage = { readonly inputTokens: number; readonly outputTokens: number };

export type Charge = {
  readonly model: string;
  readonly priceSheetVersion: string;
  readonly inputCredits: Credits;
  readonly outputCredits: Credits;
  readonly credits: Credits;
};

export type Hold = {
  readonly model: string;
  readonly priceSheetVersion: string;
  /** The input tokens the hold pays for: the estimate plus the safety margin. */
  readonly inputTokensBound: number;
  /** The max_tokens that must be sent to the provider for the hold to be an upper bound. */
  readonly maxTokens: number;
  readonly credits: Credits;
};

const checked = (n: number): number => {
  // Inputs are bounded by the sheet codec and token checks; leaving the safe
  // range here means a bug, never a business case.
  if (!Number.isSafeInteger(n)) throw new RangeError(`pricing arithmetic left the safe-integer range: ${n}`);
  return n;
};

/** ceil(n / d) for non-negative safe integers, exact (no float division). */
export const ceilDiv = (n: number, d: number): number => {
  const r = n % d;
  return checked((n - r) / d + (r > 0 ? 1 : 0));
};

/** Credits for `tokens` at `per1k` credits per 1,000 tokens, rounded up. */
export const tokenCredits = (tokens: number, per1k: number): Credits => ceilDiv(checked(tokens * per1k), 1000) as Credits;

const isTokenCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

const priceOf = (sheet: PriceSheet, model: string): E.Either<PricingError, ModelPrice> => {
  const price = Object.prototype.hasOwnProperty.call(sheet.models, model) ? sheet.models[model] : undefined;
  return price === undefined ? E.left({ _tag: 'UnknownModel', model }) : E.right(price);
};

/** What a finished (or partly finished) request costs at the sheet's prices, before clamping to its hold. */
export const chargeFor = (sheet: PriceSheet, model: string, usage: TokenUsage): E.Either<PricingError, Charge> => {
  for (const value of [usage.inputTokens, usage.outputTokens]) {
    if (!isTokenCount(value)) return E.left({ _tag: 'InvalidTokenCount', value });
  }
  return E.map((price: ModelPrice): Charge => {
    const inputCredits = tokenCredits(usage.inputTokens, price.inputPer1k);
    const outputCredits = tokenCredits(usage.outputTokens, price.outputPer1k);
    return {
      model,
      priceSheetVersion: sheet.version,
      inputCredits,
      outputCredits,
      credits: checked(inputCredits + outputCredits) as Credits,
    };
  })(priceOf(sheet, model));
};

/** The estimate plus the provider's safety margin: the input tokens a hold pays for. */
export const inputTokensBound = (sheet: PriceSheet, provider: ModelPrice['provider'], estimatedInputTokens: number): number => {
  const margin = sheet.estimateMargin[provider];
  return checked(estimatedInputTokens + ceilDiv(checked(estimatedInputTokens * margin.percent), 100) + margin.tokens);
};

/** The max_tokens to send: the client's value when valid, the model's default otherwise. */
export const resolveMaxTokens = (sheet: PriceSheet, model: string, requested?: number): E.Either<PricingError, number> =>
  E.chain((price: ModelPrice): E.Either<PricingError, number> => {
    if (requested === undefined) return E.right(price.defaultMaxTokens);
    if (!Number.isSafeInteger(requested) || requested < 1 || requested > price.maxOutputTokens) {
      return E.left({ _tag: 'InvalidMaxTokens', model, requested, max: price.maxOutputTokens });
    }
    return E.right(requested);
  })(priceOf(sheet, model));

/**
 * The hold for a request: input estimate (with margin) at the input price plus
 * `maxTokens` at the output price. `maxTokens` must be what is sent upstream.
 */
export const holdFor = (
  sheet: PriceSheet,
  model: string,
  estimatedInputTokens: number,
  maxTokens: number,
): E.Either<PricingError, Hold> => {
  if (!isTokenCount(estimatedInputTokens)) return E.left({ _tag: 'InvalidTokenCount', value: estimatedInputTokens });
  return E.chain((price: ModelPrice): E.Either<PricingError, Hold> => {
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 1 || maxTokens > price.maxOutputTokens) {
      return E.left({ _tag: 'InvalidMaxTokens', model, requested: maxTokens, max: price.maxOutputTokens });
    }
    const bound = inputTokensBound(sheet, price.provider, estimatedInputTokens);
    const credits = checked(tokenCredits(bound, price.inputPer1k) + tokenCredits(maxTokens, price.outputPer1k));
    return E.right({
      model,
      priceSheetVersion: sheet.version,
      inputTokensBound: bound,
      maxTokens,
      credits: credits as Credits,
    });
  })(priceOf(sheet, model));
};

export type Settlement = {
  /** What to settle: the charge, never more than the hold. */
  readonly credits: Credits;
  /** True when the usage priced above the hold and was cut down to it (log it: the margin was too small). */
  readonly capped: boolean;
  readonly charge: Charge;
};

/** Clamps a charge at its hold. */
export const settleCharge = (holdCredits: Credits, charge: Charge): Settlement =>
  charge.credits > holdCredits
    ? { credits: holdCredits, capped: true, charge }
    : { credits: charge.credits, capped: false, charge };

/** Credits for `seconds` of video at `resolution`, rounded up to whole seconds. */
export const videoCharge = (
  sheet: PriceSheet,
  model: string,
  resolution: string,
  seconds: number,
): E.Either<PricingError, { readonly credits: Credits; readonly perSecond: number; readonly priceSheetVersion: string }> => {
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) return E.left({ _tag: 'InvalidDuration', seconds });
  const video = Object.prototype.hasOwnProperty.call(sheet.video, model) ? sheet.video[model] : undefined;
  if (video === undefined) return E.left({ _tag: 'UnknownModel', model });
  const perSecond = Object.prototype.hasOwnProperty.call(video.perSecondByResolution, resolution)
    ? video.perSecondByResolution[resolution]
    : undefined;
  if (perSecond === undefined) return E.left({ _tag: 'UnknownResolution', model, resolution });
  const wholeSeconds = Math.ceil(seconds);
  return E.right({ credits: checked(wholeSeconds * perSecond) as Credits, perSecond, priceSheetVersion: sheet.version });
};
