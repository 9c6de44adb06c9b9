import * as E from 'fp-ts/lib/Either.js';
import type { CommandHandler } from '../commandHandler.js';
import type { Ledger } from '../credits/ledger.js';
import type { Clock, Logger } from '../ports/clock.js';
import type { ProviderVideo, VideoProvider, VideoStatus } from '../ports/videoProvider.js';
import type { VideoJobCommand, VideoJobData, VideoJobError, VideoJobEvent, VideoJobState } from './job.js';
import { videoJobStream } from './job.js';

/**
 * Ends a job the way the provider says it ended, money first: the hold is
 * settled (or released) and only then is the job marked ended. A crash in
 * between leaves the job running; the next poll repeats both steps, and the
 * ledger answers the repeated settle with the first outcome (same reservation
 * id, same charge), so a job is charged exactly once however often it is driven.
 */
type JobHandler = CommandHandler<VideoJobCommand, VideoJobEvent, VideoJobState, VideoJobError>;

export type JobSettlementDeps = {
  readonly handler: JobHandler;
  readonly ledger: Ledger;
  readonly provider: VideoProvider;
  readonly clock: Clock;
  readonly logger: Logger;
};

/** The charge of a finished job: its recorded per-second price times the seconds produced, never above the hold. */
export const chargeOf = (job: VideoJobData, videoSeconds: number): number =>
  Math.min(job.perSecond * Math.ceil(videoSeconds), job.heldCredits);

export const makeJobSettlement = (deps: JobSettlementDeps) => {
  const { handler, ledger, clock, logger } = deps;

  const record = async (job: VideoJobData, command: VideoJobCommand): Promise<VideoJobState> => {
    const result = await handler.handle(videoJobStream(job.jobId), command);
    if (E.isRight(result)) return result.right.state;
    // Another driver ended the job the other way first: what the stream says stands.
    logger.warn({ jobId: job.jobId, error: result.left }, 'video job end not recorded');
    return (await handler.load(videoJobStream(job.jobId))).state;
  };

  const complete = async (job: VideoJobData, video: ProviderVideo): Promise<VideoJobState> => {
    const videoSeconds = video.seconds !== undefined && video.seconds > 0 ? Math.ceil(video.seconds) : job.seconds;
    const charge = chargeOf(job, videoSeconds);
    const settled = await ledger.settle({
      accountId: job.userId,
      reservationId: job.reservationId,
      charge,
      usage: { provider: job.provider, model: job.model, videoSeconds, resolution: job.size },
      priceSheetVersion: job.priceSheetVersion,
    });
    let charged = charge;
    let settlement: 'hold' | 'unpaid' = 'hold';
    if (E.isLeft(settled)) {
      if (settled.left._tag !== 'ReservationAlreadyResolved' || settled.left.status === 'settled') {
        throw new Error(`settling video job ${job.jobId} failed: ${JSON.stringify(settled.left)}`);
      }
      // The hold expired (the job outlived holdTtlMs) or was released: there is nothing left to charge against.
      logger.error({ jobId: job.jobId, userId: job.userId, hold: settled.left.status, charge }, 'video job completed after its hold ended; not charged');
      charged = 0;
      settlement = 'unpaid';
    } else {
      charged = settled.right.charged;
    }
    return record(job, { type: 'CompleteJob', completion: { videoSeconds, charged, settlement, at: clock.now() } });
  };

  const fail = async (job: VideoJobData, outcome: 'failed' | 'cancelled' | 'lost', reason: string): Promise<VideoJobState> => {
    const released = await ledger.release({ accountId: job.userId, reservationId: job.reservationId, reason: `video job ${outcome}` });
    if (E.isLeft(released) && !(released.left._tag === 'ReservationAlreadyResolved' && released.left.status === 'expired')) {
      throw new Error(`releasing video job ${job.jobId} failed: ${JSON.stringify(released.left)}`);
    }
    const cut = reason.length > 500 ? reason.slice(0, 500) : reason;
    return record(job, { type: 'FailJob', failure: { outcome, reason: cut.trim().length > 0 ? cut : outcome, at: clock.now() } });
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
        return { status: 'running', job };
    }
  };

  return { drive };
};
