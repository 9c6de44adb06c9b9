import * as E from 'fp-ts/lib/Either.js';
import type { PriceSheet } from '../../domain/pricing/priceSheet.js';
import type { Credits } from '../../domain/shared/money.js';
import { chargeFor, holdFor, resolveMaxTokens, settleCharge } from '../../domain/pricing/charge.js';
import type { Ledger } from '../credits/ledger.js';
import type { AccessControl } from '../permissions/access.js';
import type { Clock, Ids, Logger } from '../ports/clock.js';
import type { ChatMessage, LlmError, LlmStream, ProviderPreference, StreamItem, Usage } from '../ports/llmProvider.js';
import { llmErrorOf } from '../ports/llmProvider.js';
import type { ProviderCandidate, ProviderSelector } from '../ports/providerSelector.js';
import type { RateLimiter } from '../ports/rateLimiter.js';
import type { GatewayError, Settled } from './errors.js';

/**
 * One metered completion, in the order the design fixes: permission, rate
 * limit, estimate + hold, stream, settle.
 *
 * Latency: the hold is decided in memory from the cached account; the
 * provider request is opened the moment the decision is made, while the
 * hold's append is still on its way to disk. No chunk is handed to the sink
 * before the append is durable; if it loses a race, the upstream request is
 * aborted and the caller gets InsufficientCredits. So nothing unpaid ever
 * reaches a client, and the store's round trip hides behind the provider's.
 *
 * Money: every path after a successful hold ends in exactly one settle (for
 * what the provider produced, never above the hold) or release. Only a crash
 * leaves a hold open, and hold expiry plus the sweeper covers that.
 */
export type CompletionRequest = {
  readonly requestId: string;
  readonly userId: string;
  readonly preference: ProviderPreference;
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly maxTokens?: number;
  readonly temperature?: number;
};

export type CompletionDone = {
  readonly provider: string;
  readonly model: string;
  readonly usage: Usage;
  /** How the stream ended: normally, or stopped by the client (cancel, disconnect). */
  readonly ended: 'completed' | 'stopped';
  readonly reservationId: string;
  readonly held: number;
  readonly capped: boolean;
} & Settled;

export type CompletionSink = {
  /** Called for each piece of text, only once the hold is durable. */
  readonly chunk: (text: string) => void;
};

export type MeteredCompletionDeps = {
  readonly ledger: Ledger;
  readonly access: AccessControl;
  readonly limiter: RateLimiter;
  readonly select: ProviderSelector;
  readonly prices: () => PriceSheet;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly logger: Logger;
  /** How long a hold lives if this process dies mid-stream; longer than any stream. */
  readonly holdTtlMs: number;
};

type Opened = { readonly stream: LlmStream; readonly iterator: AsyncIterator<StreamItem>; readonly first: Promise<IteratorResult<StreamItem>> };

/** The outcome of a stream that ended (completed or stopped by the client), with what was settled. */
const finished = (
  candidate: ProviderCandidate,
  usage: Usage,
  ended: CompletionDone['ended'],
  hold: { readonly reservationId: string; readonly held: number },
  settled: Settled & { readonly capped: boolean },
): { kind: 'done'; outcome: E.Either<GatewayError, CompletionDone> } => ({
  kind: 'done',
  outcome: E.right({ provider: candidate.provider.name, model: candidate.model, usage, ended, ...hold, ...settled }),
});

/** What settles when nothing was charged: the account as it stands. */
const nothingCharged = (balances: { readonly balance: number; readonly available: number }) => ({
  charged: 0,
  balance: balances.balance,
  available: balances.available,
  capped: false,
});

const providerError = (llm: LlmError | undefined, thrown: unknown, settled?: Settled): GatewayError => ({
  _tag: llm?._tag === 'ProviderUnavailable' || llm?._tag === 'ProviderRateLimited' ? 'ProviderUnavailable' : 'ProviderError',
  message: llm?.message ?? (thrown instanceof Error ? thrown.message : 'provider failed'),
  retryable: llm?.retryable ?? true,
  ...(settled === undefined ? {} : { settled }),
});

export const makeMeteredCompletion = (deps: MeteredCompletionDeps) => {
  const { ledger, clock, ids, logger } = deps;

  /** Opens the provider stream and asks for its first item, so the HTTP request starts now. */
  const open = (candidate: ProviderCandidate, req: CompletionRequest, maxTokens: number, signal: AbortSignal): Opened => {
    const stream = candidate.provider.stream(
      { model: candidate.model, messages: req.messages, maxTokens, ...(req.temperature === undefined ? {} : { temperature: req.temperature }) },
      signal,
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    first.catch(() => undefined); // observed later; never an unhandled rejection
    return { stream, iterator, first };
  };

  const settle = async (userId: string, reservationId: string, held: number, sheet: PriceSheet, candidate: ProviderCandidate, usage: Usage, requestId: string) => {
    const priced = chargeFor(sheet, candidate.model, usage);
    // A model removed from the sheet mid-stream cannot be priced: charge the hold, which the client accepted.
    const settlement = E.isRight(priced) ? settleCharge(held as Credits, priced.right) : { credits: held, capped: true };
    if (settlement.capped) logger.warn({ requestId, model: candidate.model, usage, held }, 'usage priced above its hold; charged the hold');
    const usageRecord = { provider: candidate.provider.name, model: candidate.model, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens };
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await ledger.settle(
          { accountId: userId, reservationId, charge: settlement.credits, usage: usageRecord, priceSheetVersion: sheet.version },
          { correlationId: requestId },
        );
        if (E.isLeft(result)) throw new Error(`settle refused: ${result.left._tag}`);
        return { charged: result.right.charged, balance: result.right.balance, available: result.right.available, capped: settlement.capped };
      } catch (error) {
        // The store is down or the hold is gone: retry briefly, then leave it to expiry (the client is not charged).
        if (attempt >= 3) throw error;
        await clock.sleep(50 * attempt);
      }
    }
  };

  const release = async (userId: string, reservationId: string, reason: string, requestId: string) => {
    try {
      await ledger.release({ accountId: userId, reservationId, reason }, { correlationId: requestId });
    } catch (error) {
      logger.error({ requestId, reservationId, err: (error as Error).message }, 'release failed; the hold will expire');
    }
  };

  /** Forwards the stream to the sink until it ends, fails, or the caller stops it. */
  const pump = async (opened: Opened, sink: CompletionSink, signal: AbortSignal) => {
    let usage: Usage | undefined;
    let next = opened.first;
    for (;;) {
      const item = await next;
      if (item.done === true) break;
      if (item.value.type === 'usage') usage = item.value.usage;
      else if (item.value.text.length > 0 && !signal.aborted) sink.chunk(item.value.text);
      if (signal.aborted) {
        // Close the iterator too, so the adapter stops reading what the aborted request still had buffered.
        await opened.iterator.return?.().catch(() => undefined);
        break;
      }
      next = opened.iterator.next();
    }
    return usage ?? opened.stream.usageSoFar();
  };

  const consumeRate = async (userId: string, cost: { requests: number; tokens: number }): Promise<E.Either<GatewayError, true>> => {
    try {
      const rate = await deps.limiter.consume(userId, cost);
      return rate.allowed ? E.right(true) : E.left({ _tag: 'RateLimited', retryAfterMs: rate.retryAfterMs, limit: rate.limit, retryable: rate.retryable });
    } catch (error) {
      return E.left({ _tag: 'LimiterUnavailable', message: (error as Error).message });
    }
  };

  const run = async (req: CompletionRequest, sink: CompletionSink, signal: AbortSignal): Promise<E.Either<GatewayError, CompletionDone>> => {
    const permitted = await deps.access.check(req.userId, 'llm:use');
    if (!permitted.allowed) return E.left({ _tag: 'Forbidden', action: 'llm:use' });
    const sheet = deps.prices();
    const candidates = deps.select(req.preference, req.model);
    const primary = candidates[0];
    if (primary === undefined) return E.left({ _tag: 'InvalidRequest', message: `unknown model "${req.model}"` });
    const maxTokens = resolveMaxTokens(sheet, primary.model, req.maxTokens);
    if (E.isLeft(maxTokens)) return E.left({ _tag: 'InvalidRequest', message: `maxTokens must be 1..${'max' in maxTokens.left ? maxTokens.left.max : '?'} for ${req.model}` });
    // The request is counted against the rate limit before the token estimate, the one step whose
    // cost grows with the prompt: a flood is refused without tokenizing anything (issue 11).
    const admitted = await consumeRate(req.userId, { requests: 1, tokens: 0 });
    if (E.isLeft(admitted)) return admitted;
    const estimate = primary.provider.estimateInputTokens({ model: primary.model, messages: req.messages, maxTokens: maxTokens.right });
    const costTokens = estimate + maxTokens.right;
    const rated = await consumeRate(req.userId, { requests: 0, tokens: costTokens });
    if (E.isLeft(rated)) return rated;
    const outcome = await tryCandidates(req, candidates, sheet, estimate, sink, signal);
    const actual = E.isRight(outcome) ? outcome.right.usage.inputTokens + outcome.right.usage.outputTokens : 0;
    deps.limiter.correctTokens(req.userId, { estimated: costTokens, actual }).catch(() => undefined);
    return outcome;
  };

  const tryCandidates = async (
    req: CompletionRequest,
    candidates: readonly ProviderCandidate[],
    sheet: PriceSheet,
    estimate: number,
    sink: CompletionSink,
    signal: AbortSignal,
  ): Promise<E.Either<GatewayError, CompletionDone>> => {
    let lastError: GatewayError = { _tag: 'ProviderUnavailable', message: 'no provider available', retryable: true };
    for (const candidate of candidates) {
      const maxTokens = resolveMaxTokens(sheet, candidate.model, req.maxTokens);
      if (E.isLeft(maxTokens)) continue;
      const result = await attempt(req, candidate, sheet, estimate, maxTokens.right, sink, signal);
      if (result.kind === 'done') return result.outcome;
      lastError = result.error;
      if (!result.fallback || signal.aborted) return E.left(lastError);
      logger.warn({ requestId: req.requestId, provider: candidate.provider.name, model: candidate.model, error: lastError }, 'provider failed before the first chunk; trying the next');
    }
    return E.left(lastError);
  };

  type Attempt = { kind: 'done'; outcome: E.Either<GatewayError, CompletionDone> } | { kind: 'failed'; error: GatewayError; fallback: boolean };

  const attempt = async (
    req: CompletionRequest,
    candidate: ProviderCandidate,
    sheet: PriceSheet,
    estimate: number,
    maxTokens: number,
    sink: CompletionSink,
    signal: AbortSignal,
  ): Promise<Attempt> => {
    const hold = holdFor(sheet, candidate.model, estimate, maxTokens);
    if (E.isLeft(hold)) return { kind: 'failed', error: { _tag: 'InvalidRequest', message: hold.left._tag }, fallback: true };
    const upstream = new AbortController();
    const stop = () => upstream.abort();
    signal.addEventListener('abort', stop, { once: true });
    // A cancel that arrived during the permission check or the rate limit must not take a hold or call the provider.
    if (signal.aborted) {
      signal.removeEventListener('abort', stop);
      const noUsage = { inputTokens: 0, outputTokens: 0 };
      return finished(candidate, noUsage, 'stopped', { reservationId: '', held: 0 }, nothingCharged(await ledger.balance(req.userId)));
    }
    try {
      const reservationId = ids.newId();
      let opened: Opened | undefined;
      const held = await ledger.reserve(
        { accountId: req.userId, reservationId, amount: hold.right.credits, ttlMs: deps.holdTtlMs, purpose: { service: 'llm', provider: candidate.provider.name, model: candidate.model, requestId: req.requestId } },
        { correlationId: req.requestId, onDecided: () => (opened = open(candidate, req, maxTokens, upstream.signal)) },
      );
      if (E.isLeft(held)) {
        upstream.abort();
        const error: GatewayError =
          held.left._tag === 'InsufficientCredits'
            ? { _tag: 'InsufficientCredits', needed: held.left.requested, available: held.left.available }
            : { _tag: 'InvalidRequest', message: held.left._tag };
        return { kind: 'done', outcome: E.left(error) };
      }
      const stream = opened ?? open(candidate, req, maxTokens, upstream.signal);
      return await streamAndSettle(req, candidate, sheet, reservationId, hold.right.credits, stream, sink, signal);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  };

  const streamAndSettle = async (
    req: CompletionRequest,
    candidate: ProviderCandidate,
    sheet: PriceSheet,
    reservationId: string,
    held: number,
    opened: Opened,
    sink: CompletionSink,
    signal: AbortSignal,
  ): Promise<Attempt> => {
    let delivered = false;
    const counting: CompletionSink = { chunk: (text) => ((delivered = true), sink.chunk(text)) };
    try {
      const usage = await pump(opened, counting, signal);
      const settled = await settle(req.userId, reservationId, held, sheet, candidate, usage, req.requestId);
      const ended = signal.aborted ? 'stopped' : 'completed';
      return finished(candidate, usage, ended, { reservationId, held }, settled);
    } catch (thrown) {
      const llm = llmErrorOf(thrown);
      const produced = llm?.partialUsage ?? opened.stream.usageSoFar();
      if (!delivered && produced.outputTokens === 0) {
        // Nothing reached the client and nothing was produced: the hold goes back in full, and another provider may try.
        await release(req.userId, reservationId, llm?._tag ?? 'provider_failed', req.requestId);
        if (signal.aborted) {
          return finished(candidate, produced, 'stopped', { reservationId, held }, nothingCharged(await ledger.balance(req.userId)));
        }
        return { kind: 'failed', error: providerError(llm, thrown), fallback: llm?.retryable !== false };
      }
      const settled = await settle(req.userId, reservationId, held, sheet, candidate, produced, req.requestId);
      if (signal.aborted) {
        return finished(candidate, produced, 'stopped', { reservationId, held }, settled);
      }
      return { kind: 'done', outcome: E.left(providerError(llm, thrown, { charged: settled.charged, balance: settled.balance, available: settled.available })) };
    }
  };

  return { run };
};

export type MeteredCompletion = ReturnType<typeof makeMeteredCompletion>;
