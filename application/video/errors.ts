/**
 * Why a video request did not happen (or not yet). Business outcomes as
 * values; the HTTP adapter maps each tag to one problem type.
 */
export type VideoError =
  | { readonly _tag: 'Forbidden'; readonly action: 'sora2:use' }
  /** The ask cannot be served: unsupported duration, resolution or model, or a bad prompt. */
  | { readonly _tag: 'InvalidVideoRequest'; readonly field: string; readonly message: string; readonly allowed?: readonly string[] }
  | { readonly _tag: 'InsufficientCredits'; readonly needed: number; readonly available: number }
  /** Unknown job, or a job of another user (the two are not told apart). */
  | { readonly _tag: 'JobNotFound'; readonly jobId: string }
  | { readonly _tag: 'JobNotCompleted'; readonly jobId: string; readonly status: string }
  /** The provider refused the job (4xx): nothing was charged, the hold was released. */
  | { readonly _tag: 'VideoProviderRejected'; readonly message: string }
  /** The provider could not be reached (network, 429, 5xx): nothing was charged. */
  | { readonly _tag: 'VideoProviderUnavailable'; readonly message: string; readonly retryAfterMs?: number }
  | { readonly _tag: 'ContentUnavailable'; readonly jobId: string; readonly message: string }
  /** The job completed after its hold ended and could not be charged: its content is not served. */
  | { readonly _tag: 'JobUnpaid'; readonly jobId: string };

export type VideoErrorTag = VideoError['_tag'];
