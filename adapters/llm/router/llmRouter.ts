import * as E from 'fp-ts/lib/Either.js';
import type {
  ChatRequest,
  LlmError,
  LlmProvider,
  LlmStream,
  ProviderName,
  ProviderPreference,
  StreamItem,
} from '../../../application/ports/llmProvider.js';
import { llmErrorOf, llmFailure } from '../../../application/ports/llmProvider.js';
import { allowsFallback, llmError } from '../llmErrors.js';
import type { FallbackMap } from './fallbackMap.js';

/**
 * Chooses a provider for each request and falls back to the other provider's
 * equivalent model, but only before the first item has arrived: once text
 * has been handed out, a failure ends the request (a second model would
 * repeat or contradict what the client already has).
 *
 * `open` resolves when the chosen provider has produced its first item, so
 * the caller learns which provider and model it is paying for before any
 * text reaches a client. docs/providers.md describes how the gateway uses it.
 */

export type RouterWeights = Readonly<Partial<Record<ProviderName, number>>>;

export type Candidate = { readonly provider: LlmProvider; readonly request: ChatRequest };

export type FailedAttempt = { readonly provider: ProviderName; readonly model: string; readonly error: LlmError };

export type OpenedStream = {
  readonly provider: ProviderName;
  readonly kind: LlmProvider['kind'];
  readonly model: string;
  /** The request actually sent (after a fallback: other model, maxTokens within its limit). */
  readonly request: ChatRequest;
  /** The stream, its first item included. */
  readonly items: LlmStream;
  /** Candidates that failed before this one. */
  readonly failed: readonly FailedAttempt[];
};

export type OpenHooks = {
  /**
   * Called before switching to the next candidate. The caller re-estimates and
   * adjusts its hold here; throwing (e.g. insufficient credits) stops the
   * request with that error instead of falling back.
   */
  readonly onFallback?: (event: { from: Candidate; to: Candidate; error: LlmError }) => Promise<void> | void;
};

export type ProviderStatus = {
  readonly name: ProviderName;
  readonly kind: LlmProvider['kind'];
  readonly available: boolean;
  readonly inFlight: number;
  readonly models: number;
};

export type LlmRouter = {
  /** The candidates `open` would try, in order; UnknownModel when none serves the model. */
  readonly plan: (req: ChatRequest, preference: ProviderPreference) => E.Either<LlmError, readonly Candidate[]>;
  /** Throws an Error carrying an LlmError (the last candidate's, or Aborted). */
  readonly open: (req: ChatRequest, preference: ProviderPreference, signal: AbortSignal, hooks?: OpenHooks) => Promise<OpenedStream>;
  readonly providers: () => readonly LlmProvider[];
  readonly status: () => readonly ProviderStatus[];
};

export type LlmRouterOptions = {
  readonly providers: readonly LlmProvider[];
  readonly fallbackMap: FallbackMap;
  /** Relative preference for `auto`; a provider's score is weight / (1 + in-flight). Default 1 each; 0 = only as fallback. */
  readonly weights?: RouterWeights;
  /** Whether a request naming its provider may also fall back (default false: only `auto` does). */
  readonly fallbackForExplicit?: boolean;
  /** The model's output limit, so a fallback never asks for more max_tokens than its model allows. */
  readonly maxOutputTokensFor?: (model: string) => number | undefined;
};

/**
 * Yields `first`, then the rest of `it`. A plain iterator rather than a
 * generator: `return()` must reach `it` (and so close the upstream request)
 * even when the caller gives up before reading anything.
 */
const prepend = (first: StreamItem, it: AsyncIterator<StreamItem>, source: LlmStream): LlmStream => {
  let pending: StreamItem | undefined = first;
  const iterator: AsyncIterator<StreamItem> = {
    next: async () => {
      if (pending === undefined) return it.next();
      const value = pending;
      pending = undefined;
      return { done: false, value };
    },
    return: async () => {
      pending = undefined;
      await it.return?.();
      return { done: true, value: undefined };
    },
  };
  let started = false;
  return {
    usageSoFar: source.usageSoFar,
    [Symbol.asyncIterator]: () => {
      if (started) throw new Error('an LlmStream can be iterated only once');
      started = true;
      return iterator;
    },
  };
};

export const makeLlmRouter = (options: LlmRouterOptions): LlmRouter => {
  const { providers, fallbackMap } = options;
  const weightOf = (p: LlmProvider) => options.weights?.[p.name] ?? 1;
  const score = (p: LlmProvider) => (p.available() ? weightOf(p) / (1 + p.inFlight()) : -1);
  const servedBy = (model: string, except?: ProviderName) =>
    providers.find((p) => p.name !== except && p.models().includes(model));

  const withModel = (req: ChatRequest, model: string): ChatRequest => {
    const limit = options.maxOutputTokensFor?.(model);
    return { ...req, model, maxTokens: limit === undefined ? req.maxTokens : Math.min(req.maxTokens, limit) };
  };

  const plan = (req: ChatRequest, preference: ProviderPreference): E.Either<LlmError, readonly Candidate[]> => {
    const native = servedBy(req.model);
    const asked: ProviderName = preference === 'auto' ? (native?.name ?? 'openai') : preference;
    if (native === undefined) return E.left(llmError('UnknownModel', asked, `no provider serves model ${req.model}`, false));
    if (preference !== 'auto' && native.name !== preference) {
      return E.left(llmError('UnknownModel', asked, `model ${req.model} is served by ${native.name}, not ${preference}`, false));
    }
    const first: Candidate = { provider: native, request: req };
    const altModel = Object.prototype.hasOwnProperty.call(fallbackMap, req.model) ? fallbackMap[req.model] : undefined;
    const altProvider = altModel === undefined ? undefined : servedBy(altModel, native.name);
    const alt: Candidate | undefined =
      altModel === undefined || altProvider === undefined ? undefined : { provider: altProvider, request: withModel(req, altModel) };
    if (alt === undefined) return E.right([first]);
    if (preference !== 'auto') return E.right(options.fallbackForExplicit === true ? [first, alt] : [first]);
    // Stable order on equal scores: the provider that natively serves the model comes first.
    return E.right(score(alt.provider) > score(native) ? [alt, first] : [first, alt]);
  };

  const open = async (req: ChatRequest, preference: ProviderPreference, signal: AbortSignal, hooks: OpenHooks = {}) => {
    const candidates = plan(req, preference);
    if (E.isLeft(candidates)) throw llmFailure(candidates.left);
    const failed: FailedAttempt[] = [];
    for (const [i, candidate] of candidates.right.entries()) {
      const previous = failed[failed.length - 1];
      const before = candidates.right[i - 1];
      if (previous !== undefined && before !== undefined) {
        await hooks.onFallback?.({ from: before, to: candidate, error: previous.error });
      }
      const source = candidate.provider.stream(candidate.request, signal);
      const it = source[Symbol.asyncIterator]();
      try {
        const first = await it.next();
        if (first.done === true) {
          throw llmFailure(llmError('ProviderError', candidate.provider.name, 'stream ended without any item', false));
        }
        return {
          provider: candidate.provider.name,
          kind: candidate.provider.kind,
          model: candidate.request.model,
          request: candidate.request,
          items: prepend(first.value, it, source),
          failed,
        } satisfies OpenedStream;
      } catch (e) {
        const error =
          llmErrorOf(e) ?? llmError('ProviderError', candidate.provider.name, e instanceof Error ? e.message : String(e), false);
        failed.push({ provider: candidate.provider.name, model: candidate.request.model, error });
        const last = i === candidates.right.length - 1;
        if (last || signal.aborted || !allowsFallback(error)) throw llmErrorOf(e) !== undefined ? e : llmFailure(error, e);
      }
    }
    // Unreachable: the loop returns or throws on its last candidate.
    throw llmFailure(llmError('ProviderError', 'openai', 'no candidate was tried', false));
  };

  return {
    plan,
    open,
    providers: () => providers,
    status: () =>
      providers.map((p) => ({ name: p.name, kind: p.kind, available: p.available(), inFlight: p.inFlight(), models: p.models().length })),
  };
};
