import { Readable } from 'node:stream';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { VideoSeconds, VideoSize } from 'openai/resources/videos';
import type { ListedVideo, ProviderVideo, VideoProvider, VideoProviderError, VideoStatus } from '../../application/ports/videoProvider.js';
import { parseRetryAfterMs } from '../llm/llmErrors.js';
import { planSora } from './soraParams.js';

/**
 * Sora 2 through the official `openai` SDK's videos API: `videos.create`
 * (multipart POST /videos), `videos.retrieve` (GET /videos/{id}) and
 * `videos.downloadContent` (GET /videos/{id}/content). Creating a job is
 * never retried (a retry after a lost answer could start a second, unpaid
 * video); reads are retried by the SDK. A creation whose answer never came
 * (timeout, connection dropped after sending, 504) is reported `ambiguous`,
 * and `list` (GET /videos, newest first) lets the caller find the job the
 * provider may have started anyway.
 */
export type OpenAiVideoProviderOptions = {
  readonly apiKey: string;
  /** https://api.openai.com/v1 (the SDK's default) or a fixture server's /v1. */
  readonly baseURL?: string;
  /** Per request. Default 30 s; content downloads get `downloadTimeoutMs`. */
  readonly timeoutMs?: number;
  readonly downloadTimeoutMs?: number;
  /** SDK retries of reads. Default 2. */
  readonly maxRetries?: number;
  readonly now?: () => number;
};

/** The fields of a `video` object we rely on; the rest is ignored. */
const VideoObject = t.intersection([
  t.type({ id: t.string, status: t.string }),
  t.partial({
    progress: t.union([t.number, t.null]),
    seconds: t.union([t.string, t.number, t.null]),
    size: t.union([t.string, t.null]),
    error: t.union([t.null, t.partial({ code: t.union([t.string, t.null]), message: t.union([t.string, t.null]) })]),
    model: t.union([t.string, t.null]),
    prompt: t.union([t.string, t.null]),
    created_at: t.union([t.number, t.null]),
  }),
]);

/** A video object of the list, with what identifies the request that created it. */
export const toListedVideo = (raw: unknown): ListedVideo | undefined => {
  const video = toProviderVideo(raw);
  const decoded = VideoObject.decode(raw);
  if (E.isLeft(video) || E.isLeft(decoded)) return undefined;
  const { model, prompt, created_at: createdAt } = decoded.right;
  return {
    ...video.right,
    model: model ?? '',
    ...(typeof prompt === 'string' ? { prompt } : {}),
    createdAt: typeof createdAt === 'number' ? createdAt * 1000 : 0,
  };
};

const notConnected = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Connection failures that prove the request never reached the provider (looked for down the cause chain). */
const neverSent = (thrown: APIConnectionError): boolean => {
  let cause: unknown = thrown.cause;
  for (let depth = 0; depth < 5 && typeof cause === 'object' && cause !== null; depth++) {
    const { code, errors } = cause as { code?: unknown; errors?: unknown };
    if (typeof code === 'string' && notConnected.has(code)) return true;
    // Happy-eyeballs connects report every address tried in an AggregateError.
    if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => typeof e === 'object' && e !== null && notConnected.has(String((e as { code?: unknown }).code)))) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
};

const statusOf = (raw: string): VideoStatus => {
  if (raw === 'queued' || raw === 'in_progress' || raw === 'completed' || raw === 'failed') return raw;
  if (raw === 'cancelled' || raw === 'canceled') return 'cancelled';
  // A status this adapter does not know yet is treated as still running: polling goes on, nothing is charged.
  return 'in_progress';
};

export const toProviderVideo = (raw: unknown): E.Either<VideoProviderError, ProviderVideo> => {
  const decoded = VideoObject.decode(raw);
  if (E.isLeft(decoded)) return E.left({ _tag: 'VideoProviderUnavailable', message: 'unexpected video object from provider' });
  const v = decoded.right;
  const seconds = v.seconds === undefined || v.seconds === null ? NaN : Number(v.seconds);
  const progress = typeof v.progress === 'number' && Number.isFinite(v.progress) ? Math.max(0, Math.min(100, Math.round(v.progress))) : 0;
  const error = v.error?.message === undefined || v.error.message === null ? undefined : { code: v.error.code ?? 'unknown', message: v.error.message };
  return E.right({
    id: v.id,
    status: statusOf(v.status),
    progress,
    ...(Number.isFinite(seconds) && seconds > 0 ? { seconds } : {}),
    ...(typeof v.size === 'string' ? { size: v.size } : {}),
    ...(error === undefined ? {} : { error }),
  });
};

const classify = (thrown: unknown, id: string | undefined, nowMs: number): VideoProviderError => {
  if (thrown instanceof APIConnectionTimeoutError) return { _tag: 'VideoProviderUnavailable', message: thrown.message, ambiguous: true };
  if (thrown instanceof APIConnectionError) return { _tag: 'VideoProviderUnavailable', message: thrown.message, ...(neverSent(thrown) ? {} : { ambiguous: true }) };
  if (thrown instanceof APIError && typeof thrown.status === 'number') {
    const status = thrown.status;
    if (status === 404 && id !== undefined) return { _tag: 'VideoNotFound', id };
    if (status === 429 || status >= 500 || status === 408) {
      const retryAfterMs = parseRetryAfterMs(thrown.headers, nowMs);
      return {
        _tag: 'VideoProviderUnavailable',
        message: `provider answered ${status}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        // A gateway timeout answers for a provider that may still be working on the request.
        ...(status === 504 ? { ambiguous: true } : {}),
      };
    }
    return { _tag: 'VideoRejected', message: thrown.message, status };
  }
  // undici reports a dropped socket as TypeError: terminated / fetch failed; the request may have been sent.
  if (thrown instanceof Error) return { _tag: 'VideoProviderUnavailable', message: thrown.message, ambiguous: true };
  return { _tag: 'VideoProviderUnavailable', message: String(thrown) };
};

export const makeOpenAiVideoProvider = (options: OpenAiVideoProviderOptions): VideoProvider => {
  const now = options.now ?? Date.now;
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    timeout: options.timeoutMs ?? 30_000,
    maxRetries: options.maxRetries ?? 2,
  });

  const attempt = async <A>(id: string | undefined, run: () => Promise<E.Either<VideoProviderError, A>>) => {
    try {
      return await run();
    } catch (thrown) {
      return E.left(classify(thrown, id, now()));
    }
  };

  return {
    name: 'openai',
    plan: planSora,
    create: (plan, prompt) =>
      attempt(undefined, async () => {
        const video = await client.videos.create(
          { model: plan.model, prompt, seconds: String(plan.seconds) as VideoSeconds, size: plan.size as VideoSize },
          { maxRetries: 0 },
        );
        return toProviderVideo(video);
      }),
    retrieve: (id) => attempt(id, async () => toProviderVideo(await client.videos.retrieve(id))),
    list: ({ limit }) =>
      attempt(undefined, async () => {
        const page = await client.videos.list({ limit: Math.min(Math.max(limit, 1), 100), order: 'desc' });
        return E.right(page.data.map(toListedVideo).filter((v): v is ListedVideo => v !== undefined));
      }),
    content: (id) =>
      attempt(id, async () => {
        const response = await client.videos.downloadContent(id, {}, { timeout: options.downloadTimeoutMs ?? 300_000 });
        if (response.body === null) return E.left({ _tag: 'VideoContentUnavailable', id, message: 'empty content' });
        const length = Number(response.headers.get('content-length') ?? NaN);
        return E.right({
          contentType: response.headers.get('content-type') ?? 'video/mp4',
          ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {}),
          body: Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]),
        });
      }).then((result) =>
        E.isLeft(result) && result.left._tag === 'VideoNotFound'
          ? E.left<VideoProviderError>({ _tag: 'VideoContentUnavailable', id, message: 'the provider has no content for this job' })
          : result,
      ),
  };
};
