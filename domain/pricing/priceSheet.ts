import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';

/**
 * The versioned price sheet: what every model costs, in integer credits.
 *
 * Prices are credits per 1,000 tokens (input and output separately) and
 * credits per second of video by resolution. They are integers so that every
 * charge is integer arithmetic; the unit of a credit is whatever the operator
 * sells (the shipped sheet uses 1 credit = 0.00001 USD, see docs/providers.md).
 * The version is recorded on every settlement so an auditor can recompute the
 * charge with the sheet that was in force.
 */

/** Prices above this would let `tokens * price` leave the safe-integer range for realistic token counts. */
export const PRICE_PER_1K_MAX = 100_000_000;
/** No model writes more than this in one answer; it also bounds the hold arithmetic. */
export const MAX_OUTPUT_TOKENS_MAX = 1_000_000;

const intIn = (min: number, max: number, name: string) =>
  t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= min && n <= max, name);

const Price = intIn(0, PRICE_PER_1K_MAX, 'PricePer1k');
const TokenLimit = intIn(1, MAX_OUTPUT_TOKENS_MAX, 'TokenLimit');

export const ProviderOfModel = t.keyof({ openai: null, claude: null });

export const ModelPrice = t.type({
  provider: ProviderOfModel,
  /** Credits per 1,000 input (prompt) tokens. */
  inputPer1k: Price,
  /** Credits per 1,000 output (completion) tokens, reasoning tokens included. */
  outputPer1k: Price,
  /** max_tokens sent to the provider when the client gives none. */
  defaultMaxTokens: TokenLimit,
  /** The most a client may ask for (the model's own output limit). */
  maxOutputTokens: TokenLimit,
});
export type ModelPrice = t.TypeOf<typeof ModelPrice>;

/**
 * Safety margin added to the tokenizer's input estimate before a hold is
 * computed: `estimate + ceil(estimate * percent / 100) + tokens`. OpenAI's
 * count is reproduced exactly by the tokenizer, Claude's is not (its tokenizer
 * is not public), so Claude's margin is wider.
 */
export const EstimateMargin = t.type({
  percent: intIn(0, 1000, 'MarginPercent'),
  tokens: intIn(0, 1_000_000, 'MarginTokens'),
});
export type EstimateMargin = t.TypeOf<typeof EstimateMargin>;

export const VideoPrice = t.type({
  /** Credits per second of generated video, by resolution ("1280x720"). */
  perSecondByResolution: t.record(t.string, intIn(1, PRICE_PER_1K_MAX, 'PricePerSecond')),
});
export type VideoPrice = t.TypeOf<typeof VideoPrice>;

export const PriceSheetCodec = t.type({
  version: t.refinement(t.string, (s) => s.length > 0 && s.length <= 100, 'Version'),
  estimateMargin: t.type({ openai: EstimateMargin, claude: EstimateMargin }),
  models: t.record(t.string, ModelPrice),
  video: t.record(t.string, VideoPrice),
});
export type PriceSheet = t.TypeOf<typeof PriceSheetCodec>;

export type PriceSheetInvalid = { readonly _tag: 'PriceSheetInvalid'; readonly problems: readonly string[] };

/** Rules that span fields, which a codec alone cannot say. */
const crossFieldProblems = (sheet: PriceSheet): string[] => {
  const problems: string[] = [];
  const names = Object.keys(sheet.models);
  if (names.length === 0) problems.push('models: the sheet lists no model');
  for (const name of names) {
    const m = sheet.models[name];
    if (m === undefined) continue;
    if (m.defaultMaxTokens > m.maxOutputTokens) {
      problems.push(`models.${name}: defaultMaxTokens ${m.defaultMaxTokens} exceeds maxOutputTokens ${m.maxOutputTokens}`);
    }
  }
  for (const [name, v] of Object.entries(sheet.video)) {
    if (Object.keys(v.perSecondByResolution).length === 0) problems.push(`video.${name}: no resolution is priced`);
  }
  return problems;
};

/** Decodes untrusted JSON (an operator's file) into a price sheet, listing every problem found. */
export const decodePriceSheet = (raw: unknown): E.Either<PriceSheetInvalid, PriceSheet> =>
  pipe(
    PriceSheetCodec.decode(raw),
    E.mapLeft((errors): PriceSheetInvalid => ({
      _tag: 'PriceSheetInvalid',
      problems: PathReporter.report(E.left(errors)),
    })),
    E.chain((sheet) => {
      const problems = crossFieldProblems(sheet);
      return problems.length === 0 ? E.right(sheet) : E.left({ _tag: 'PriceSheetInvalid', problems });
    }),
  );

/** Models of one provider, in the sheet's order. */
export const modelsOf = (sheet: PriceSheet, provider: ModelPrice['provider']): readonly string[] =>
  Object.entries(sheet.models)
    .filter(([, m]) => m.provider === provider)
    .map(([name]) => name);
