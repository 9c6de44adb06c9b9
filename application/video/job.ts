import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Decider } from '../../domain/shared/decider.js';
import { absurd } from '../../domain/shared/decider.js';
import type { RecordedEvent } from '../ports/eventStore.js';

/**
 * One Sora 2 video job (`video-<jobId>`), as a decider. The credit hold is
 * taken first; then the request is recorded (`VideoJobRequested`) before the
 * provider is called, so a creation whose answer was lost (timeout) is known
 * after a crash and is reconciled against the provider's job list instead of
 * being created twice or released while the provider may be rendering it.
 * The stream then records the job the provider accepted and how it ended.
 * Its ids are derived from the job id (reservation `sora2-<jobId>`), so every
 * step can be repeated after a crash and the ledger's own idempotency turns
 * the repeat into a no-op. Streams written before `VideoJobRequested` existed
 * start at `VideoJobCreated`, which is still accepted.
 *
 * It lives in application/ because domain/ is owned elsewhere; it is pure and
 * may move to domain/video/ unchanged.
 */

const NonNegativeInt = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'NonNegativeInt');
const PositiveInt = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n > 0, 'PositiveInt');
const Text = t.refinement(t.string, (s) => s.length > 0 && s.length <= 500, 'Text');

export const VideoJobData = t.type({
  jobId: Text,
  userId: Text,
  reservationId: Text,
  /** The provider adapter's name ("openai", "scripted") and its id of the job. */
  provider: Text,
  providerJobId: Text,
  model: Text,
  seconds: PositiveInt,
  size: Text,
  /** Credits per second from the price sheet in force when the job was created. */
  perSecond: PositiveInt,
  heldCredits: PositiveInt,
  priceSheetVersion: Text,
  at: NonNegativeInt,
});
export type VideoJobData = t.TypeOf<typeof VideoJobData>;

/** What is known before the provider answered: everything but its job id, and a hash of the prompt to find the job by. */
export const VideoJobRequestData = t.type({
  jobId: Text,
  userId: Text,
  reservationId: Text,
  provider: Text,
  model: Text,
  seconds: PositiveInt,
  size: Text,
  perSecond: PositiveInt,
  heldCredits: PositiveInt,
  priceSheetVersion: Text,
  /** SHA-256 (hex) of the prompt as sent. */
  promptHash: Text,
  at: NonNegativeInt,
});
export type VideoJobRequestData = t.TypeOf<typeof VideoJobRequestData>;
/** The fields every state of a job has. */
export type VideoJobCommon = Omit<VideoJobData, 'providerJobId'>;

const event = <T extends string, D extends t.Mixed>(type: T, data: D) => t.type({ type: t.literal(type), data }, type);

export const VideoJobRequested = event('VideoJobRequested', VideoJobRequestData);
export const VideoJobCreated = event('VideoJobCreated', VideoJobData);
export const VideoJobCompleted = event(
  'VideoJobCompleted',
  t.type({
    /** Seconds the provider produced, as charged. */
    videoSeconds: PositiveInt,
    charged: NonNegativeInt,
    /**
     * `hold`: settled against the hold; `deduction`: the hold had expired and the
     * charge was deducted instead; `unpaid`: neither was possible (its content is not served).
     */
    settlement: t.keyof({ hold: null, deduction: null, unpaid: null }),
    at: NonNegativeInt,
  }),
);
export const VideoJobFailed = event(
  'VideoJobFailed',
  t.type({
    /**
     * `failed`/`cancelled` as the provider said; `lost` when the provider no longer
     * knows the job (or a request whose answer was lost is not in its job list);
     * `rejected` when the provider refused to create it.
     */
    outcome: t.keyof({ failed: null, cancelled: null, lost: null, rejected: null }),
    reason: Text,
    at: NonNegativeInt,
  }),
);
export const VideoJobEvent = t.union([VideoJobRequested, VideoJobCreated, VideoJobCompleted, VideoJobFailed], 'VideoJobEvent');
export type VideoJobEvent = t.TypeOf<typeof VideoJobEvent>;
export type VideoJobCompleted = t.TypeOf<typeof VideoJobCompleted>;
export type VideoJobFailed = t.TypeOf<typeof VideoJobFailed>;

export type VideoJobState =
  | { readonly status: 'none' }
  /** Recorded before the provider was called; its answer is not known (yet). */
  | { readonly status: 'requested'; readonly job: VideoJobRequestData }
  | { readonly status: 'running'; readonly job: VideoJobData }
  | { readonly status: 'completed'; readonly job: VideoJobData; readonly completion: VideoJobCompleted['data'] }
  | { readonly status: 'failed'; readonly job: VideoJobCommon; readonly failure: VideoJobFailed['data'] };

export type VideoJobCommand =
  | { readonly type: 'RequestJob'; readonly request: VideoJobRequestData }
  | { readonly type: 'CreateJob'; readonly job: VideoJobData }
  | { readonly type: 'CompleteJob'; readonly completion: VideoJobCompleted['data'] }
  | { readonly type: 'FailJob'; readonly failure: VideoJobFailed['data'] };

export type VideoJobError =
  | { readonly _tag: 'JobNotFound' }
  | { readonly _tag: 'JobAlreadyExists' }
  | { readonly _tag: 'JobAlreadyEnded'; readonly status: 'completed' | 'failed' }
  | { readonly _tag: 'JobConflict'; readonly field: string };

type Decision = E.Either<VideoJobError, readonly VideoJobEvent[]>;
const nothing: Decision = E.right([]);

/** Repeats of the step that ended the job are no-ops; the other ending is refused. */
const decide = (command: VideoJobCommand, state: VideoJobState): Decision => {
  switch (command.type) {
    case 'RequestJob':
      if (state.status === 'none') return E.right([{ type: 'VideoJobRequested', data: command.request }]);
      return state.job.userId === command.request.userId ? nothing : E.left({ _tag: 'JobAlreadyExists' });
    case 'CreateJob':
      if (state.status === 'none' || state.status === 'requested') return E.right([{ type: 'VideoJobCreated', data: command.job }]);
      if (state.status === 'failed') return E.left({ _tag: 'JobAlreadyEnded', status: 'failed' });
      return state.job.providerJobId === command.job.providerJobId ? nothing : E.left({ _tag: 'JobAlreadyExists' });
    case 'CompleteJob':
      if (state.status === 'none' || state.status === 'requested') return E.left({ _tag: 'JobNotFound' });
      if (state.status === 'running') return E.right([{ type: 'VideoJobCompleted', data: command.completion }]);
      if (state.status === 'failed') return E.left({ _tag: 'JobAlreadyEnded', status: 'failed' });
      return state.completion.charged === command.completion.charged ? nothing : E.left({ _tag: 'JobConflict', field: 'charged' });
    case 'FailJob':
      if (state.status === 'none') return E.left({ _tag: 'JobNotFound' });
      if (state.status === 'running' || state.status === 'requested') return E.right([{ type: 'VideoJobFailed', data: command.failure }]);
      if (state.status === 'failed') return nothing;
      return E.left({ _tag: 'JobAlreadyEnded', status: 'completed' });
    default:
      return absurd(command);
  }
};

const commonOf = (job: VideoJobData | VideoJobRequestData | VideoJobCommon): VideoJobCommon => {
  const { jobId, userId, reservationId, provider, model, seconds, size, perSecond, heldCredits, priceSheetVersion, at } = job;
  return { jobId, userId, reservationId, provider, model, seconds, size, perSecond, heldCredits, priceSheetVersion, at };
};

const evolve = (state: VideoJobState, event: VideoJobEvent): VideoJobState => {
  switch (event.type) {
    case 'VideoJobRequested':
      return state.status === 'none' ? { status: 'requested', job: event.data } : state;
    case 'VideoJobCreated':
      return { status: 'running', job: event.data };
    case 'VideoJobCompleted':
      return state.status === 'running' ? { status: 'completed', job: state.job, completion: event.data } : state;
    case 'VideoJobFailed':
      return state.status === 'none' ? state : { status: 'failed', job: commonOf(state.job), failure: event.data };
    default:
      return absurd(event);
  }
};

export const videoJobDecider: Decider<VideoJobCommand, VideoJobEvent, VideoJobState, VideoJobError> = {
  decide,
  evolve,
  initialState: { status: 'none' },
};

export const videoJobStreamPrefix = 'video-';
export const videoJobStream = (jobId: string): string => `${videoJobStreamPrefix}${jobId}`;
/** The hold of a job: derived, so a retried step finds the same reservation. */
export const reservationIdOf = (jobId: string): string => `sora2-${jobId}`;

export const decodeVideoJobEvent = (recorded: RecordedEvent): VideoJobEvent | undefined => {
  const decoded = VideoJobEvent.decode({ type: recorded.type, data: recorded.data });
  return E.isRight(decoded) ? decoded.right : undefined;
};
