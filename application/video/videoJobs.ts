import * as E from 'fp-ts/lib/Either.js';
import { videoCharge } from '../../domain/pricing/charge.js';
import type { PriceSheet } from '../../domain/pricing/priceSheet.js';
import type { HandlerOptions } from '../commandHandler.js';
import { makeCommandHandler } from '../commandHandler.js';
import type { Ledger } from '../credits/ledger.js';
import type { AccessControl } from '../permissions/access.js';
import type { Clock, Ids, Logger } from '../ports/clock.js';
import type { EventStore } from '../ports/eventStore.js';
import type { VideoContent, VideoProvider, VideoProviderError, VideoStatus } from '../ports/videoProvider.js';
import type { VideoError } from './errors.js';
import type { VideoJobState } from './job.js';
import { decodeVideoJobEvent, reservationIdOf, videoJobDecider, videoJobStream } from './job.js';
import { makeJobSettlement } from './settlement.js';
import { sha256Hex } from '../signin/secrets.js';

/**
 * The Sora 2 use cases: generate (permission, price, hold, provider job),
 * advance a job towards its end (settle on completion, release on failure),
 * report its status, and hand out its content to its owner.
 */
export type VideoJobsDeps = {
  readonly store: EventStore;
  readonly ledger: Ledger;
  readonly access: AccessControl;
  readonly provider: VideoProvider;
  readonly prices: () => PriceSheet;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly logger: Logger;
  /** How long the hold of a job lasts; a job that takes longer is not charged. Default 2 h. */
  readonly holdTtlMs?: number;
  /** How long a creation whose answer was lost is looked for in the provider's job list. Default 2 min. */
  readonly reconcileGraceMs?: number;
  readonly handlerOptions?: HandlerOptions;
};

export type GenerateInput = {
  readonly userId: string;
  readonly prompt: string;
  readonly duration: number;
  readonly resolution: string;
  readonly model?: string;
  /** The session the request came with (for logs). */
  readonly sessionId?: string;
  /**
   * The job's id when the caller fixes it (derived from its Idempotency-Key):
   * a repeat finds the job and never takes a second hold or starts a second job.
   */
  readonly jobId?: string;
};

export type JobView = {
  readonly jobId: string;
  readonly status: VideoStatus;
  readonly progress: number;
  readonly model: string;
  readonly seconds: number;
  readonly size: string;
  readonly heldCredits: number;
  /** Set once the job completed: what was charged. */
  readonly chargedCredits?: number;
  readonly createdAt: number;
  readonly endedAt?: number;
  readonly error?: string;
};

export const defaultModel = 'sora-2';
export const promptMaxLength = 4000;
const defaultHoldTtlMs = 2 * 60 * 60 * 1000;

const unsupported = (e: VideoProviderError): VideoError =>
  e._tag === 'VideoUnsupported'
    ? { _tag: 'InvalidVideoRequest', field: e.field, message: e.message, allowed: e.allowed }
    : { _tag: 'InvalidVideoRequest', field: 'request', message: 'the request cannot be served' };

const providerFailure = (e: VideoProviderError): VideoError => {
  if (e._tag === 'VideoProviderUnavailable') {
    return { _tag: 'VideoProviderUnavailable', message: e.message, ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }) };
  }
  if (e._tag === 'VideoUnsupported') return unsupported(e);
  return { _tag: 'VideoProviderRejected', message: 'message' in e ? e.message : e._tag };
};

export const makeVideoJobs = (deps: VideoJobsDeps) => {
  const { ledger, provider, clock, logger } = deps;
  const holdTtlMs = deps.holdTtlMs ?? defaultHoldTtlMs;
  const handler = makeCommandHandler({
    store: deps.store,
    decider: videoJobDecider,
    decode: decodeVideoJobEvent,
    clock,
    ids: deps.ids,
    ...(deps.handlerOptions === undefined ? {} : { options: deps.handlerOptions }),
  });
  const settlement = makeJobSettlement({
    handler,
    ledger,
    provider,
    clock,
    logger,
    holdTtlMs,
    ...(deps.reconcileGraceMs === undefined ? {} : { reconcileGraceMs: deps.reconcileGraceMs }),
  });

  /** What the provider last said about running jobs, for status answers between polls. Bounded by open jobs. */
  const lastSeen = new Map<string, { status: VideoStatus; progress: number }>();

  const viewOf = (state: Exclude<VideoJobState, { status: 'none' }>): JobView => {
    const { job } = state;
    const base = { jobId: job.jobId, model: job.model, seconds: job.seconds, size: job.size, heldCredits: job.heldCredits, createdAt: job.at };
    if (state.status === 'completed') {
      return { ...base, status: 'completed', progress: 100, chargedCredits: state.completion.charged, endedAt: state.completion.at };
    }
    if (state.status === 'failed') {
      const status = state.failure.outcome === 'cancelled' ? 'cancelled' : 'failed';
      return { ...base, status, progress: 0, chargedCredits: 0, endedAt: state.failure.at, error: state.failure.reason };
    }
    const seen = lastSeen.get(job.jobId) ?? { status: 'queued' as const, progress: 0 };
    return { ...base, ...seen };
  };

  const checkAsk = (input: GenerateInput) => {
    const prompt = input.prompt.trim();
    if (prompt.length === 0 || input.prompt.length > promptMaxLength) {
      return E.left<VideoError>({ _tag: 'InvalidVideoRequest', field: 'prompt', message: `prompt must be 1 to ${promptMaxLength} characters` });
    }
    const plan = provider.plan({ model: input.model ?? defaultModel, duration: input.duration, resolution: input.resolution });
    if (E.isLeft(plan)) return E.left(unsupported(plan.left));
    const price = videoCharge(deps.prices(), plan.right.model, plan.right.size, plan.right.seconds);
    if (E.isLeft(price)) {
      // The provider offers it but the operator has not priced it: refuse rather than give it away.
      return E.left<VideoError>({ _tag: 'InvalidVideoRequest', field: 'resolution', message: `no price for ${plan.right.model} at ${plan.right.size}` });
    }
    return E.right({ prompt, plan: plan.right, price: price.right });
  };

  /** A job that already exists under a caller-fixed id: its view (a request still unconfirmed is reconciled first). */
  const existing = async (jobId: string, userId: string): Promise<E.Either<VideoError, JobView> | undefined> => {
    const { state } = await handler.load(videoJobStream(jobId));
    if (state.status === 'none') return undefined;
    if (state.job.userId !== userId) return E.left({ _tag: 'JobNotFound', jobId });
    return state.status === 'requested' || state.status === 'running' ? advance(jobId) : E.right(viewOf(state));
  };

  const generate = async (input: GenerateInput): Promise<E.Either<VideoError, JobView>> => {
    const permission = await deps.access.check(input.userId, 'sora2:use');
    if (!permission.allowed) return E.left({ _tag: 'Forbidden', action: 'sora2:use' });
    const ask = checkAsk(input);
    if (E.isLeft(ask)) return ask;
    const { prompt, plan, price } = ask.right;
    const jobId = input.jobId ?? deps.ids.newId();
    if (input.jobId !== undefined) {
      const repeat = await existing(jobId, input.userId);
      if (repeat !== undefined) return repeat;
    }
    const reservationId = reservationIdOf(jobId);
    const hold = await ledger.reserve({
      accountId: input.userId,
      reservationId,
      amount: price.credits,
      ttlMs: holdTtlMs,
      purpose: { service: 'sora2', provider: provider.name, model: plan.model, requestId: jobId },
    });
    if (E.isLeft(hold)) {
      if (hold.left._tag === 'InsufficientCredits') return E.left({ _tag: 'InsufficientCredits', needed: price.credits, available: hold.left.available });
      if (hold.left._tag === 'AccountNotOpen') return E.left({ _tag: 'InsufficientCredits', needed: price.credits, available: 0 });
      throw new Error(`video hold refused: ${hold.left._tag}`);
    }
    const common = {
      jobId,
      userId: input.userId,
      reservationId,
      provider: provider.name,
      model: plan.model,
      seconds: plan.seconds,
      size: plan.size,
      perSecond: price.perSecond,
      heldCredits: price.credits,
      priceSheetVersion: price.priceSheetVersion,
      at: clock.now(),
    };
    // Recorded before the provider is called: a creation whose answer is lost is then found again, never repeated.
    const requested = await handler.handle(videoJobStream(jobId), { type: 'RequestJob', request: { ...common, promptHash: sha256Hex(prompt) } });
    if (E.isLeft(requested)) throw new Error(`video job ${jobId} not recorded: ${requested.left._tag}`);
    const created = await provider.create(plan, prompt);
    if (E.isLeft(created)) {
      if (created.left._tag === 'VideoProviderUnavailable' && created.left.ambiguous === true) {
        // The provider may be rendering it: keep the hold; the poller (or a status call) reconciles with its job list.
        logger.warn({ jobId, userId: input.userId, error: created.left }, 'video job creation answer lost; reconciling with the provider job list');
        return E.right(viewOf({ status: 'requested', job: { ...common, promptHash: '' } }));
      }
      await settlement.fail(common, 'rejected', `provider refused the job: ${created.left._tag}`);
      return E.left(providerFailure(created.left));
    }
    const job = { ...common, providerJobId: created.right.id };
    const recorded = await handler.handle(videoJobStream(jobId), { type: 'CreateJob', job });
    if (E.isLeft(recorded)) throw new Error(`video job ${jobId} not recorded: ${recorded.left._tag}`);
    lastSeen.set(jobId, { status: created.right.status, progress: created.right.progress });
    logger.info({ jobId, userId: input.userId, sessionId: input.sessionId, providerJobId: job.providerJobId, heldCredits: job.heldCredits }, 'video job created');
    return E.right(viewOf({ status: 'running', job }));
  };

  /**
   * Asks the provider about a running job and ends it when the provider says it
   * ended. Safe to run concurrently and repeatedly (poller, status calls, other
   * processes): settle and release are idempotent by the job's reservation id.
   */
  const advance = async (jobId: string): Promise<E.Either<VideoError, JobView>> => {
    const view = await handler.load(videoJobStream(jobId));
    const state = view.state;
    if (state.status === 'none') return E.left({ _tag: 'JobNotFound', jobId });
    if (state.status === 'requested') {
      const reconciled = await settlement.reconcile(state.job);
      return reconciled.status === 'none' ? E.left({ _tag: 'JobNotFound', jobId }) : E.right(viewOf(reconciled));
    }
    if (state.status !== 'running') return E.right(viewOf(state));
    const next = await settlement.drive(state.job, (seen) => lastSeen.set(jobId, seen));
    if (next.status !== 'running') lastSeen.delete(jobId);
    return next.status === 'none' ? E.left({ _tag: 'JobNotFound', jobId }) : E.right(viewOf(next));
  };

  const owned = async (jobId: string, userId: string): Promise<Exclude<VideoJobState, { status: 'none' }> | undefined> => {
    const { state } = await handler.load(videoJobStream(jobId));
    if (state.status === 'none' || state.job.userId !== userId) return undefined;
    return state;
  };

  /** A user's jobs, newest first, from their ids (the job index keeps them); no provider call. */
  const list = async (jobIds: readonly string[], userId: string): Promise<readonly JobView[]> => {
    const views: JobView[] = [];
    for (const jobId of jobIds) {
      const state = await owned(jobId, userId);
      if (state !== undefined) views.push(viewOf(state));
    }
    return views;
  };

  return {
    generate,
    advance,
    /** The job's status for its owner; polls the provider while it runs. */
    status: async (jobId: string, userId: string): Promise<E.Either<VideoError, JobView>> => {
      const state = await owned(jobId, userId);
      if (state === undefined) return E.left({ _tag: 'JobNotFound', jobId });
      return state.status === 'running' || state.status === 'requested' ? advance(jobId) : E.right(viewOf(state));
    },
    list,
    content: async (jobId: string, userId: string): Promise<E.Either<VideoError, VideoContent>> => {
      const state = await owned(jobId, userId);
      if (state === undefined) return E.left({ _tag: 'JobNotFound', jobId });
      if (state.status !== 'completed') {
        const status = state.status === 'running' ? (lastSeen.get(jobId)?.status ?? 'queued') : viewOf(state).status;
        return E.left({ _tag: 'JobNotCompleted', jobId, status });
      }
      // A job that could not be paid for is not handed out.
      if (state.completion.settlement === 'unpaid') return E.left({ _tag: 'JobUnpaid', jobId });
      const content = await provider.content(state.job.providerJobId);
      if (E.isLeft(content)) {
        if (content.left._tag === 'VideoProviderUnavailable') return E.left(providerFailure(content.left));
        return E.left({ _tag: 'ContentUnavailable', jobId, message: 'message' in content.left ? content.left.message : 'content not available' });
      }
      return content;
    },
  };
};

export type VideoJobs = ReturnType<typeof makeVideoJobs>;
