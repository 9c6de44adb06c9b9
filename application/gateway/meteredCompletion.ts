import * as E from 'fp-ts/lib/Either.js';
import type { PriceSheet } from '../../domain/pricing/priceSheet.js';
import { holdFor, resolveMaxTokens } from '../../domain/pricing/charge.js';
import type { Ledger } from '../credits/ledger.js';
import type { AccessControl } from '../permissions/access.js';
import type { Clock, Ids, Logger } from '../ports/clock.js';
import type { ChatMessage, LlmStream, ProviderPreference, StreamItem, Usage } from '../ports/llmProvider.js';
import { llmErrorOf } from '../ports/llmProvider.js';
import type { ProviderCandidate, ProviderSelector } from '../ports/providerSelector.js';
import type { RateLimiter } from '../ports/rateLimiter.js';
import type { Supervisor } from '../supervisor.js';
import type { GatewayError } from './errors.js';
import type { Settlements } from './settlements.js';
import { makeSettlements } from './settlements.js';
import type { StreamHold } from './streamHold.js';
import { openStreamHold } from './streamHold.js';
import { finished, nothingCharged, providerError } from './outcomes.js';

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
 * what the provider produced, never above the hold) or release. While the
 * stream runs, its usage so far is recorded on the hold every few seconds and
 * the hold extended (holdKeeper.ts); a stream whose hold cannot be extended,
 * or that reaches streamMaxMs, is stopped and settled. A settle the store
 * cannot take now is retried in the background until written and the answer
 * says `pending` (settlements.ts). A crash leaves a hold open: its expiry
 * charges the last recorded progress. docs/architecture.md states the cost
 * policy of stopped requests and its bound.
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

import type { CompletionDone } from './outcomes.js';
export type { CompletionDone };

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
  /** How long a hold lives past its last progress record if this process dies mid-stream. */
  readonly holdTtlMs: number;
  /** HOLD_PROGRESS_MS: least time between two progress records of a running stream's hold. Default 5000. */
  readonly progressMs?: number;
  /** STREAM_MAX_MS: a stream running this long is stopped and settled. Default 30 min. */
  readonly streamMaxMs?: number;
  /** Background settlement; default one of its own. */
  readonly settlements?: Settlements;
  readonly supervisor?: Supervisor;
  /**
   * The gateway's own count of output tokens in streamed text, fed piece by
   * piece as it is delivered: the provider's reported output is never taken
   * below it. Unset = the provider's report stands.
   */
  readonly outputCounter?: (model: string) => OutputCounter;
};

/** A running count of delivered text's tokens (adapters/llm/tokenizer.ts `makeTextTokenCounter`). */
export type OutputCounter = { readonly add: (text: string) => void; readonly total: () => number };

export const DEFAULT_PROGRESS_MS = 5_000;
export const DEFAULT_STREAM_MAX_MS = 30 * 60 * 1000;

/** What reached the client: how many pieces, and their running token count when the gateway keeps one. */
type Delivered = { pieces: number; readonly counter: OutputCounter | undefined };

type Opened = {
  readonly stream: LlmStream;
  readonly iterator: AsyncIterator<StreamItem>;
  readonly first: Promise<IteratorResult<StreamItem>>;
  /** The provider's stream ran to its end: its request is over, nothing is left to abort. */
  ended: boolean;
};

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
    return { stream, iterator, first, ended: false };
  };

  const settlements = deps.settlements ?? makeSettlements({ ledger, clock, ids, logger, ...(deps.supervisor === undefined ? {} : { supervisor: deps.supervisor }) });
  const holdDeps = {
    ledger,
    settlements,
    clock,
    logger,
    progressMs: deps.progressMs ?? DEFAULT_PROGRESS_MS,
    holdTtlMs: deps.holdTtlMs,
    streamMaxMs: deps.streamMaxMs ?? DEFAULT_STREAM_MAX_MS,
  };

  /** The provider's usage, its output never below the gateway's own count of what it streamed. */
  const floored = (usage: Usage, streamed: Delivered): Usage => {
    if (streamed.counter === undefined || streamed.pieces === 0) return usage;
    const own = streamed.counter.total();
    return own > usage.outputTokens ? { ...usage, outputTokens: own } : usage;
  };

  /**
   * Forwards the stream to the sink until it ends, fails, or is stopped: by
   * the caller, or by the hold keeper (the hold cannot be kept, or the stream
   * ran too long), which aborts the upstream request. The keeper's progress
   * writes are fired from here and never awaited between chunks.
   */
  const pump = async (opened: Opened, sink: CompletionSink, signal: AbortSignal, hold: StreamHold, upstream: AbortController) => {
    let usage: Usage | undefined;
    let delivering = false;
    let next = opened.first;
    // Asked only when the keeper records progress (every few seconds), never per chunk.
    const usageNow = () => usage ?? opened.stream.usageSoFar();
    for (;;) {
      const item = await next;
      if (item.done === true) {
        opened.ended = true;
        break;
      }
      if (item.value.type === 'usage') usage = item.value.usage;
      else if (item.value.text.length > 0 && !signal.aborted) {
        // Before the first piece goes out the hold is judged once more: a hold whose append became durable
        // only when it was already within its safety margin of expiring (a store that stalled the write)
        // delivers nothing at all. Later pieces are judged after delivery, while the margin still holds.
        if (!delivering && hold.keeper.check(usageNow) !== undefined) {
          upstream.abort();
          await opened.iterator.return?.().catch(() => undefined);
          break;
        }
        delivering = true;
        sink.chunk(item.value.text);
      }
      const stop = hold.keeper.check(usageNow);
      if (stop !== undefined) upstream.abort();
      if (signal.aborted || stop !== undefined) {
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
    let opened: Opened | undefined;
    try {
      const reservationId = ids.newId();
      const startedAt = clock.now();
      // A hold that cannot be written (the store is down) throws: the finally below aborts the request opened on the decision.
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
      opened ??= open(candidate, req, maxTokens, upstream.signal);
      const stream = opened;
      const moneyHold = openStreamHold(holdDeps, {
        userId: req.userId,
        requestId: req.requestId,
        reservationId,
        held: hold.right.credits,
        startedAt,
        expiresAt: held.right.expiresAt,
        reserved: held.right,
        sheet,
        candidate,
      });
      return await streamAndSettle(req, candidate, { reservationId, held: hold.right.credits }, moneyHold, stream, sink, signal, upstream);
    } finally {
      signal.removeEventListener('abort', stop);
      // Whatever happened, the upstream request ends here: a refused or failed hold must not leave it
      // generating for nobody or holding its provider slot. A stream that ran to its end has nothing
      // left to abort, and aborting it anyway cost an AbortError and an abort event per request.
      if (opened?.ended !== true) upstream.abort();
    }
  };

  const streamAndSettle = async (
    req: CompletionRequest,
    candidate: ProviderCandidate,
    ids_: { readonly reservationId: string; readonly held: number },
    hold: StreamHold,
    opened: Opened,
    sink: CompletionSink,
    signal: AbortSignal,
    upstream: AbortController,
  ): Promise<Attempt> => {
    const streamed: Delivered = { pieces: 0, counter: deps.outputCounter?.(candidate.model) };
    const counting: CompletionSink = {
      chunk: (text) => {
        streamed.pieces += 1;
        sink.chunk(text);
        streamed.counter?.add(text);
      },
    };
    try {
      const usage = floored(await pump(opened, counting, signal, hold, upstream), streamed);
      const stopReason = hold.keeper.stopReason();
      const ended = signal.aborted || stopReason !== undefined ? 'stopped' : 'completed';
      const settled = await hold.settle(usage, ended);
      return finished(candidate, usage, ended, ids_, settled, stopReason);
    } catch (thrown) {
      const llm = llmErrorOf(thrown);
      const produced = floored(llm?.partialUsage ?? opened.stream.usageSoFar(), streamed);
      // Once the provider's stream started, a client stop costs the input it bills (policy in docs/architecture.md).
      const startedAndStopped = signal.aborted && produced.inputTokens > 0;
      if (streamed.pieces === 0 && produced.outputTokens === 0 && !startedAndStopped) {
        // Nothing reached the client and nothing was produced: the hold goes back in full, and another provider may try.
        await hold.release(llm?._tag ?? 'provider_failed');
        if (signal.aborted) {
          return finished(candidate, produced, 'stopped', ids_, nothingCharged(await ledger.balance(req.userId)));
        }
        return { kind: 'failed', error: providerError(llm, thrown), fallback: llm?.retryable !== false };
      }
      const settled = await hold.settle(produced, signal.aborted ? 'stopped' : 'failed');
      if (signal.aborted) {
        return finished(candidate, produced, 'stopped', ids_, settled);
      }
      const { capped: _capped, ...charged } = settled;
      return { kind: 'done', outcome: E.left(providerError(llm, thrown, charged)) };
    }
  };

  return { run };
};

export type MeteredCompletion = ReturnType<typeof makeMeteredCompletion>;
