import type * as E from 'fp-ts/lib/Either.js';

/**
 * The VideoProvider port: asynchronous video generation (Sora 2 through the
 * `openai` SDK, or the built-in scripted provider). A job is created, polled
 * until it reaches a terminal status, and its content is fetched once it is
 * completed. Expected refusals and outages are values (`Left`); only bugs throw.
 */

/** What a client asks for, in its own words: seconds of video and a resolution name or size. */
export type VideoAsk = {
  readonly model: string;
  readonly duration: number;
  readonly resolution: string;
};

/** What the provider's API accepts, after mapping a `VideoAsk` (see `plan`). */
export type VideoPlan = {
  readonly model: string;
  /** Whole seconds, one of the values the API allows. */
  readonly seconds: number;
  /** `<width>x<height>`, one of the sizes the API allows for this model; also the price sheet's resolution key. */
  readonly size: string;
};

export type VideoStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

export const isTerminal = (status: VideoStatus): boolean =>
  status === 'completed' || status === 'failed' || status === 'cancelled';

export type ProviderVideo = {
  /** The provider's id of the job. */
  readonly id: string;
  readonly status: VideoStatus;
  /** 0..100 as reported by the provider. */
  readonly progress: number;
  /** The duration the provider reports (the length it produced), when it says. */
  readonly seconds?: number;
  readonly size?: string;
  /** Why the job failed, when it did. */
  readonly error?: { readonly code: string; readonly message: string };
};

export type VideoContent = {
  readonly contentType: string;
  /** Bytes as announced by the provider, when known. */
  readonly contentLength?: number;
  /** The bytes, streamed; read once. */
  readonly body: AsyncIterable<Uint8Array>;
};

export type VideoProviderError =
  /** The ask cannot be expressed in the provider's API (duration, size or model it does not offer). */
  | { readonly _tag: 'VideoUnsupported'; readonly field: 'model' | 'duration' | 'resolution'; readonly message: string; readonly allowed: readonly string[] }
  /** The provider refused the request (4xx other than 429): bad prompt, moderation, unknown job. */
  | { readonly _tag: 'VideoRejected'; readonly message: string; readonly status?: number }
  /** The job does not exist at the provider (any more). */
  | { readonly _tag: 'VideoNotFound'; readonly id: string }
  /** The content is not ready or no longer available. */
  | { readonly _tag: 'VideoContentUnavailable'; readonly id: string; readonly message: string }
  /**
   * Network failure, timeout, 429 or 5xx; may be retried. `ambiguous` is set
   * when the request may have reached the provider and done its work anyway
   * (a timeout or a connection dropped after sending): a creation answered so
   * must be looked up with `list` before it is called failed.
   */
  | { readonly _tag: 'VideoProviderUnavailable'; readonly message: string; readonly retryAfterMs?: number; readonly ambiguous?: boolean };

/** A job as the provider's list shows it, with what identifies the request that created it. */
export type ListedVideo = ProviderVideo & {
  readonly model: string;
  readonly seconds?: number;
  readonly size?: string;
  /** The prompt as the provider recorded it, when it says. */
  readonly prompt?: string;
  /** When the provider created it (ms since epoch). */
  readonly createdAt: number;
};

export type VideoProvider = {
  /** "openai" or "scripted", for logs and usage records. */
  readonly name: string;
  /** Maps a client's ask to the API's values, refusing what the API does not offer. Pure. */
  readonly plan: (ask: VideoAsk) => E.Either<VideoProviderError, VideoPlan>;
  readonly create: (plan: VideoPlan, prompt: string) => Promise<E.Either<VideoProviderError, ProviderVideo>>;
  readonly retrieve: (id: string) => Promise<E.Either<VideoProviderError, ProviderVideo>>;
  readonly content: (id: string) => Promise<E.Either<VideoProviderError, VideoContent>>;
  /** The most recent jobs of this API key, newest first (at most `limit`), to reconcile ambiguous creations. */
  readonly list: (options: { readonly limit: number }) => Promise<E.Either<VideoProviderError, readonly ListedVideo[]>>;
};
