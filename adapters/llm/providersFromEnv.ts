import { sequenceS } from 'fp-ts/lib/Apply.js';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { LlmProvider, ProviderName } from '../../application/ports/llmProvider.js';
import { modelsOf } from '../../domain/pricing/priceSheet.js';
import { makeAnthropicProvider } from './anthropic/anthropicProvider.js';
import { makeOpenAiProvider } from './openai/openaiProvider.js';
import type { PriceSheetSource } from './priceSheetFile.js';
import { resolveShipped } from '../system/packageRoot.js';
import { DEFAULT_PRICE_SHEET_PATH, describePriceSheetError, loadPriceSheetFile, makePriceSheetSource } from './priceSheetFile.js';
import type { ResilienceHooks, ResilienceOptions } from './resilience.js';
import { DEFAULT_RESILIENCE } from './resilience.js';
import { DEFAULT_FALLBACK_MAP, FallbackMapCodec, fallbackMapProblems } from './router/fallbackMap.js';
import type { FallbackMap } from './router/fallbackMap.js';
import type { LlmRouter, RouterWeights } from './router/llmRouter.js';
import { makeLlmRouter } from './router/llmRouter.js';
import { makeScriptedProvider } from './scripted/scriptedProvider.js';

/**
 * Builds the LLM side of the service from environment variables (the
 * composition root calls this once). A provider without an API key is
 * replaced by the scripted provider, and the log says so.
 * Variables: docs/providers.md.
 */

/** Structurally compatible with pino's logger. */
export type LlmLogger = {
  readonly info: (obj: Record<string, unknown>, msg: string) => void;
  readonly warn: (obj: Record<string, unknown>, msg: string) => void;
};

export type LlmConfigInvalid = { readonly _tag: 'LlmConfigInvalid'; readonly variable: string; readonly message: string };

export type LlmSetup = {
  readonly providers: readonly LlmProvider[];
  readonly router: LlmRouter;
  readonly prices: PriceSheetSource;
  readonly fallbackMap: FallbackMap;
};

export type LlmSetupOverrides = {
  readonly resilience?: Partial<ResilienceOptions>;
  readonly scriptedChunkDelayMs?: number;
  /** More resilience hooks (metrics), called after the logging ones. */
  readonly hooks?: ResilienceHooks;
  /** Wraps each provider before the router gets it (metrics, tracing). */
  readonly instrument?: (provider: LlmProvider) => LlmProvider;
};

const Env = t.partial({
  OPENAI_API_KEY: t.string,
  OPENAI_BASE_URL: t.string,
  ANTHROPIC_API_KEY: t.string,
  ANTHROPIC_BASE_URL: t.string,
  PRICE_SHEET: t.string,
  LLM_FALLBACK_MAP: t.string,
  LLM_WEIGHTS: t.string,
  LLM_FALLBACK_EXPLICIT: t.string,
  LLM_MAX_CONCURRENT: t.string,
  LLM_MAX_QUEUED: t.string,
  LLM_CONNECT_TIMEOUT_MS: t.string,
  LLM_IDLE_TIMEOUT_MS: t.string,
  SCRIPTED_CHUNK_DELAY_MS: t.string,
});
type Env = t.TypeOf<typeof Env>;

type Parsed<A> = E.Either<LlmConfigInvalid, A>;
const bad = (variable: string, message: string): LlmConfigInvalid => ({ _tag: 'LlmConfigInvalid', variable, message });
const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

const url = (variable: string, v: string | undefined): Parsed<string | undefined> => {
  if (!present(v)) return E.right(undefined);
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? E.right(v) : E.left(bad(variable, 'must be an http(s) URL'));
  } catch {
    return E.left(bad(variable, 'is not a URL'));
  }
};

const positiveInt = (variable: string, v: string | undefined, fallback: number): Parsed<number> => {
  if (!present(v)) return E.right(fallback);
  const n = Number(v);
  return Number.isSafeInteger(n) && n > 0 ? E.right(n) : E.left(bad(variable, 'must be a positive integer'));
};

const nonNegativeInt = (variable: string, v: string | undefined, fallback: number): Parsed<number> =>
  v === '0' ? E.right(0) : positiveInt(variable, v, fallback);

/** "openai=2,claude=1" */
const weights = (v: string | undefined): Parsed<RouterWeights> => {
  if (!present(v)) return E.right({});
  const out: Partial<Record<ProviderName, number>> = {};
  for (const part of v.split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim());
    const n = Number(value);
    if ((name !== 'openai' && name !== 'claude') || value === undefined || !Number.isFinite(n) || n < 0) {
      return E.left(bad('LLM_WEIGHTS', 'expected e.g. "openai=2,claude=1" with non-negative numbers'));
    }
    out[name] = n;
  }
  return E.right(out);
};

const fallbackMap = (v: string | undefined): Parsed<FallbackMap> => {
  if (!present(v)) return E.right(DEFAULT_FALLBACK_MAP);
  let raw: unknown;
  try {
    raw = JSON.parse(v);
  } catch {
    return E.left(bad('LLM_FALLBACK_MAP', 'is not JSON'));
  }
  const decoded = FallbackMapCodec.decode(raw);
  return E.isRight(decoded) ? E.right(decoded.right) : E.left(bad('LLM_FALLBACK_MAP', 'must be a JSON object of model -> model'));
};

const bool = (variable: string, v: string | undefined): Parsed<boolean> => {
  if (!present(v)) return E.right(false);
  if (v === 'true' || v === '1') return E.right(true);
  if (v === 'false' || v === '0') return E.right(false);
  return E.left(bad(variable, 'must be true or false'));
};

const resilienceFrom = (env: Env, overrides: Partial<ResilienceOptions>): Parsed<ResilienceOptions> => {
  const d = { ...DEFAULT_RESILIENCE, ...overrides };
  const fields = [
    ['maxConcurrent', positiveInt('LLM_MAX_CONCURRENT', env.LLM_MAX_CONCURRENT, d.maxConcurrent)],
    ['maxQueued', nonNegativeInt('LLM_MAX_QUEUED', env.LLM_MAX_QUEUED, d.maxQueued)],
    ['connectTimeoutMs', positiveInt('LLM_CONNECT_TIMEOUT_MS', env.LLM_CONNECT_TIMEOUT_MS, d.connectTimeoutMs)],
    ['idleTimeoutMs', positiveInt('LLM_IDLE_TIMEOUT_MS', env.LLM_IDLE_TIMEOUT_MS, d.idleTimeoutMs)],
  ] as const;
  const out: Record<string, number> = {};
  for (const [key, parsed] of fields) {
    if (E.isLeft(parsed)) return parsed;
    out[key] = parsed.right;
  }
  return E.right({ ...d, ...out });
};

const hooksFor = (logger: LlmLogger | undefined): ResilienceHooks => ({
  onRetry: (e) =>
    logger?.warn({ provider: e.provider, attempt: e.attempt, delayMs: e.delayMs, error: e.error._tag, status: e.error.status }, 'llm retry'),
  onBreaker: (e) => logger?.warn({ provider: e.provider, state: e.state }, 'llm circuit breaker'),
});

export const makeProvidersFromEnv = (
  rawEnv: Readonly<Record<string, string | undefined>>,
  logger?: LlmLogger,
  overrides: LlmSetupOverrides = {},
): E.Either<LlmConfigInvalid, LlmSetup> => {
  const decodedEnv = Env.decode(rawEnv);
  if (E.isLeft(decodedEnv)) return E.left(bad('env', 'environment could not be read'));
  const env = decodedEnv.right;
  // The default sheet ships with the package: found from any working directory.
  const path = present(env.PRICE_SHEET) ? env.PRICE_SHEET : resolveShipped(DEFAULT_PRICE_SHEET_PATH);
  const sheet = loadPriceSheetFile(path);
  if (E.isLeft(sheet)) return E.left(bad('PRICE_SHEET', describePriceSheetError(sheet.left)));
  const prices = makePriceSheetSource(path, sheet.right);

  const parsed = sequenceS(E.Apply)({
    openaiUrl: url('OPENAI_BASE_URL', env.OPENAI_BASE_URL),
    anthropicUrl: url('ANTHROPIC_BASE_URL', env.ANTHROPIC_BASE_URL),
    resilience: resilienceFrom(env, overrides.resilience ?? {}),
    chunkDelayMs: nonNegativeInt('SCRIPTED_CHUNK_DELAY_MS', env.SCRIPTED_CHUNK_DELAY_MS, overrides.scriptedChunkDelayMs ?? 20),
    weights: weights(env.LLM_WEIGHTS),
    fallbackMap: fallbackMap(env.LLM_FALLBACK_MAP),
    fallbackForExplicit: bool('LLM_FALLBACK_EXPLICIT', env.LLM_FALLBACK_EXPLICIT),
  });
  if (E.isLeft(parsed)) return parsed;
  const c = parsed.right;

  const logged = hooksFor(logger);
  const extra = overrides.hooks ?? {};
  const hooks: ResilienceHooks = {
    onRetry: (e) => (logged.onRetry?.(e), extra.onRetry?.(e)),
    onBreaker: (e) => (logged.onBreaker?.(e), extra.onBreaker?.(e)),
  };
  const modelsFor = (name: ProviderName) => () => modelsOf(prices.current(), name);
  const scripted = (name: ProviderName, variable: string) => {
    logger?.warn({ provider: name, kind: 'scripted' }, `${variable} is not set: ${name} is served by the scripted provider`);
    return makeScriptedProvider({ name, models: modelsFor(name), chunkDelayMs: c.chunkDelayMs, firstChunkDelayMs: c.chunkDelayMs });
  };
  const openai = present(env.OPENAI_API_KEY)
    ? makeOpenAiProvider({
        apiKey: env.OPENAI_API_KEY,
        models: modelsFor('openai'),
        resilience: c.resilience,
        hooks,
        ...(c.openaiUrl !== undefined ? { baseURL: c.openaiUrl } : {}),
      })
    : scripted('openai', 'OPENAI_API_KEY');
  const claude = present(env.ANTHROPIC_API_KEY)
    ? makeAnthropicProvider({
        apiKey: env.ANTHROPIC_API_KEY,
        models: modelsFor('claude'),
        resilience: c.resilience,
        hooks,
        ...(c.anthropicUrl !== undefined ? { baseURL: c.anthropicUrl } : {}),
      })
    : scripted('claude', 'ANTHROPIC_API_KEY');
  const providers = [openai, claude].map(overrides.instrument ?? ((p: LlmProvider) => p));
  for (const p of providers) {
    if (p.kind === 'real') {
      const baseURL = p.name === 'openai' ? c.openaiUrl : c.anthropicUrl;
      logger?.info({ provider: p.name, kind: p.kind, baseURL: baseURL ?? 'SDK default' }, 'llm provider configured');
    }
  }
  const problems = fallbackMapProblems(c.fallbackMap, providers);
  if (problems.length > 0) return E.left(bad('LLM_FALLBACK_MAP', problems.join('; ')));

  const router = makeLlmRouter({
    providers,
    fallbackMap: c.fallbackMap,
    weights: c.weights,
    fallbackForExplicit: c.fallbackForExplicit,
    maxOutputTokensFor: (model) => prices.current().models[model]?.maxOutputTokens,
  });
  logger?.info({ priceSheet: path, version: prices.current().version }, 'price sheet loaded');
  return E.right({ providers, router, prices, fallbackMap: c.fallbackMap });
};
