import * as E from 'fp-ts/lib/Either.js';
import { accountStream } from '../../domain/creditAccount/index.js';
import type { CreditAccountError } from '../../domain/creditAccount/index.js';
import type { CommandHandler } from '../commandHandler.js';
import type { Ledger } from '../credits/ledger.js';
import type { Clock, Logger } from '../ports/clock.js';
import type { ProviderVideo, VideoProvider, VideoStatus } from '../ports/videoProvider.js';
import { sha256Hex } from '../signin/secrets.js';
import type { VideoJobCommand, VideoJobCommon, VideoJobData, VideoJobError, VideoJobEvent, VideoJobRequestData, VideoJobState } from './job.js';
import { videoJobStream } from './job.js';

/**
 * Ends a job the way the provider says it ended, money first: the hold is
 * settled (or released) and only then is the job marked ended. A crash in
 * between leaves the job running; the next poll repeats both steps, and the
 * ledger answers the repeated settle with the first outcome (same reservation
 * id, same charge), so a job is charged exactly once however often it is driven.
 *
 * A job never completes unpaid: while it runs, each poll past a quarter of
 * the hold's life records progress on the hold (nothing charged yet, a new
 * expiry), so the hold outlives the job; if the hold expired anyway (the
 * service was down longer than the hold), the charge is deducted instead, and
 * a job that could not be paid either way is recorded `unpaid` and its
 * content is not served. A refusal that names a missing hold is decided
 * again after reading the account's tail (another process may have taken it).
 *
 * A request whose creation answer was lost (`requested`) is reconciled
 * against the provider's job list: the job found is recorded and driven as
 * usual; after `reconcileGraceMs` without one, the request is failed as lost
 * and its hold released.
 */
type JobHandler = CommandHandler<VideoJobCommand, VideoJobEvent, VideoJobState, VideoJobError>;

export type JobSettlementDeps = {
  readonly handler: JobHandler;
  readonly ledger: Ledger;
  readonly provider: VideoProvider;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The hold's life; progress extends it by this much. */
  readonly holdTtlMs: number;
  /** How long a request with a lost creation answer is looked for in the provider's list. Default 2 min. */
  readonly reconcileGraceMs?: number;
};

/** The charge of a finished job: its recorded per-second price times the seconds produced, never above the hold. */
export const chargeOf = (job: VideoJobData, videoSeconds: number): number =>
  Math.min(job.perSecond * Math.ceil(videoSeconds), job.heldCredits);

export const makeJobSettlement = (deps: JobSettlementDeps) => {
  const { handler, ledger, clock, logger } = deps;
  const reconcileGraceMs = deps.reconcileGraceMs ?? 120_000;
  /** When each running job last extended its hold (in memory: after a restart the first poll extends it). */
  const extendedAt = new Map<string, number>();

  /** Runs a ledger command; a refusal naming a missing hold is decided again after reading the account's tail. */
  const fresh = async <T>(userId: string, command: () => Promise<E.Either<CreditAccountError, T>>): Promise<E.Either<CreditAccountError, T>> => {
    const first = await command();
    if (E.isRight(first) || first.left._tag !== 'ReservationNotFound') return first;
    ledger.handler.forget(accountStream(userId));
    return command();
  };

  const record = async (job: VideoJobCommon, command: VideoJobCommand): Promise<VideoJobState> => {
    const result = await handler.handle(videoJobStream(job.jobId), command);
    if (E.isRight(result)) return result.right.state;
    // Another driver ended the job the other way first: what the stream says stands.
    logger.warn({ jobId: job.jobId, error: result.left }, 'video job end not recorded');
    return (await handler.load(videoJobStream(job.jobId))).state;
  };

  const complete = async (job: VideoJobData, video: ProviderVideo): Promise<VideoJobState> => {
    const videoSeconds = video.seconds !== undefined && video.seconds > 0 ? Math.ceil(video.seconds) : job.seconds;
    const charge = chargeOf(job, videoSeconds);
    const usage = { provider: job.provider, model: job.model, videoSeconds, resolution: job.size };
    const settled = await fresh(job.userId, () =>
      ledger.settle({ accountId: job.userId, reservationId: job.reservationId, charge, usage, priceSheetVersion: job.priceSheetVersion }),
    );
    extendedAt.delete(job.jobId);
    if (E.isRight(settled)) {
      return record(job, { type: 'CompleteJob', completion: { videoSeconds, charged: settled.right.charged, settlement: 'hold', at: clock.now() } });
    }
    if (settled.left._tag !== 'ReservationAlreadyResolved' || settled.left.status === 'settled') {
      throw new Error(`settling video job ${job.jobId} failed: ${JSON.stringify(settled.left)}`);
    }
    // The hold ended first (the service was down longer than the hold): charge the video directly, once (derived id).
    const deducted = await ledger.deduct({ accountId: job.userId, deductionId: `sora2-late-${job.jobId}`, amount: charge, service: 'sora2', reason: `video job ${job.jobId} completed after its hold ${settled.left.status}` });
    if (E.isRight(deducted)) {
      logger.warn({ jobId: job.jobId, userId: job.userId, hold: settled.left.status, charge }, 'video job completed after its hold ended; charged by deduction');
      return record(job, { type: 'CompleteJob', completion: { videoSeconds, charged: charge, settlement: 'deduction', at: clock.now() } });
    }
    logger.error({ jobId: job.jobId, userId: job.userId, hold: settled.left.status, charge, error: deducted.left }, 'video job completed but could not be paid; its content will not be served');
    return record(job, { type: 'CompleteJob', completion: { videoSeconds, charged: 0, settlement: 'unpaid', at: clock.now() } });
  };

  const fail = async (job: VideoJobCommon, outcome: 'failed' | 'cancelled' | 'lost' | 'rejected', reason: string): Promise<VideoJobState> => {
    extendedAt.delete(job.jobId);
    const released = await fresh(job.userId, () => ledger.release({ accountId: job.userId, reservationId: job.reservationId, reason: `video job ${outcome}` }));
    if (E.isLeft(released) && !(released.left._tag === 'ReservationAlreadyResolved' && released.left.status === 'expired')) {
      throw new Error(`releasing video job ${job.jobId} failed: ${JSON.stringify(released.left)}`);
    }
    const cut = reason.length > 500 ? reason.slice(0, 500) : reason;
    return record(job, { type: 'FailJob', failure: { outcome, reason: cut.trim().length > 0 ? cut : outcome, at: clock.now() } });
  };

  /** Extends a running job's hold once a quarter of its life has passed since the last extension. */
  const keepHold = async (job: VideoJobData) => {
    const now = clock.now();
    if (now - (extendedAt.get(job.jobId) ?? job.at) < deps.holdTtlMs / 4) return;
    const usage = { provider: job.provider, model: job.model, videoSeconds: 0, resolution: job.size };
    const kept = await ledger.progress({ accountId: job.userId, reservationId: job.reservationId, charge: 0, usage, priceSheetVersion: job.priceSheetVersion, ttlMs: deps.holdTtlMs });
    if (E.isRight(kept)) extendedAt.set(job.jobId, now);
    // A hold that can no longer be extended is charged by deduction when the job completes (see complete).
    else logger.warn({ jobId: job.jobId, error: kept.left }, 'video job hold not extended');
  };

  /** Looks for the job a request with a lost creation answer may have started. */
  const reconcile = async (request: VideoJobRequestData): Promise<VideoJobState> => {
    const listed = await deps.provider.list({ limit: 100 });
    if (E.isLeft(listed)) {
      logger.warn({ jobId: request.jobId, error: listed.left }, 'provider job list unavailable; the hold is kept');
      return { status: 'requested', job: request };
    }
    const found = listed.right.find(
      (v) =>
        v.model === request.model &&
        (v.seconds === undefined || v.seconds === request.seconds) &&
        (v.size === undefined || v.size === request.size) &&
        v.prompt !== undefined &&
        sha256Hex(v.prompt) === request.promptHash &&
        // The provider's clock may run a little behind ours.
        v.createdAt >= request.at - 60_000,
    );
    if (found !== undefined) {
      const { promptHash: _promptHash, ...rest } = request;
      logger.info({ jobId: request.jobId, providerJobId: found.id }, 'found the job of a creation whose answer was lost');
      return record(rest, { type: 'CreateJob', job: { ...rest, providerJobId: found.id } });
    }
    if (clock.now() - request.at < reconcileGraceMs) return { status: 'requested', job: request };
    return fail(request, 'lost', 'the provider has no job for this request');
  };

  /** One poll of a running job; returns the job's state afterwards (still running when nothing ended). */
  const drive = async (
    job: VideoJobData,
    onSeen: (seen: { status: VideoStatus; progress: number }) => void,
  ): Promise<VideoJobState> => {
    const polled = await deps.provider.retrieve(job.providerJobId);
    if (E.isLeft(polled)) {
      if (polled.left._tag === 'VideoNotFound') return fail(job, 'lost', 'the provider no longer knows this job');
      logger.warn({ jobId: job.jobId, error: polled.left }, 'video job poll failed; will retry');
      return { status: 'running', job };
    }
    const video = polled.right;
    onSeen({ status: video.status, progress: video.progress });
    switch (video.status) {
      case 'completed':
        return complete(job, video);
      case 'failed':
      case 'cancelled':
        return fail(job, video.status, video.error?.message ?? `the provider reported ${video.status}`);
      default:
        await keepHold(job);
        return { status: 'running', job };
    }
  };

  return { drive, reconcile, fail };
};
