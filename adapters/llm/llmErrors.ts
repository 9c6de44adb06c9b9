import type { LlmError, LlmErrorTag, ProviderName, Usage } from '../../application/ports/llmProvider.js';

/**
 * Mapping of what SDKs and the network throw to our LlmError, in one place
 * for both providers (the OpenAI and Anthropic SDKs share a shape: an
 * `APIError` with `status`, `headers` and a parsed `error` body).
 */

export const llmError = (
  tag: LlmErrorTag,
  provider: ProviderName,
  message: string,
  retryable: boolean,
  extra: { partialUsage?: Usage; retryAfterMs?: number; status?: number } = {},
): LlmError => ({ _tag: tag, provider, message, retryable, ...extra });

/** Why the adapter itself cut a request: caller abort or one of its timers. */
export type CutReason = 'aborted' | 'connectTimeout' | 'firstChunkTimeout' | 'idleTimeout';

export const cutError = (provider: ProviderName, reason: CutReason, timeoutMs: number): LlmError =>
  reason === 'aborted'
    ? llmError('Aborted', provider, 'the request was aborted', false)
    : llmError('ProviderUnavailable', provider, `${reason} after ${timeoutMs} ms`, true);

const headerOf = (headers: unknown, name: string): string | undefined => {
  if (headers === null || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * The delay a server asked for, in ms: `retry-after-ms` (OpenAI's extension),
 * else `retry-after` as delta-seconds (fractions accepted) or as an HTTP date.
 * Returns undefined when absent or unreadable; negative values become 0.
 */
export const parseRetryAfterMs = (headers: unknown, nowMs: number): number | undefined => {
  const ms = headerOf(headers, 'retry-after-ms');
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = headerOf(headers, 'retry-after');
  if (value === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};

type SdkErrorShape = {
  readonly status?: number | undefined;
  readonly headers?: unknown;
  readonly error?: unknown;
  readonly message?: string;
  readonly name?: string;
};

/** The provider's error type/code from a parsed body (`{error: {type, code}}`, either SDK). */
const errorKind = (body: unknown): string => {
  if (body === null || typeof body !== 'object') return '';
  const inner = 'error' in body && typeof body.error === 'object' && body.error !== null ? body.error : body;
  const code = 'code' in inner && typeof inner.code === 'string' ? inner.code : '';
  const type = 'type' in inner && typeof inner.type === 'string' ? inner.type : '';
  return `${code} ${type}`.trim();
};

// Duck typing, not instanceof: errors raised inside Node (undici) come from
// another realm than our code under a VM-based test runner.
const isErrorLike = (e: unknown): e is { name?: unknown; message: string; cause?: unknown } =>
  typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';

const isSdkApiError = (e: unknown): e is SdkErrorShape => isErrorLike(e) && 'status' in e && 'headers' in e;

const byStatus = (provider: ProviderName, status: number, kind: string, message: string, headers: unknown, nowMs: number): LlmError => {
  const retryAfterMs = parseRetryAfterMs(headers, nowMs);
  const extra = retryAfterMs === undefined ? { status } : { status, retryAfterMs };
  if (status === 429) {
    // An exhausted quota will not heal by waiting: not retryable, but still a reason to fall back.
    const quota = /insufficient_quota|billing/.test(kind);
    return llmError('ProviderRateLimited', provider, message, !quota, extra);
  }
  if (status === 404 && /model|not_found/.test(kind + message)) return llmError('UnknownModel', provider, message, false, extra);
  if (status === 401 || status === 403) return llmError('ProviderUnavailable', provider, `not authorized: ${message}`, false, extra);
  if (status === 408 || status === 409 || status >= 500) return llmError('ProviderUnavailable', provider, message, true, extra);
  return llmError('ProviderError', provider, message, false, extra);
};

/** An error event inside a stream (no HTTP status): classified by its type. */
const byKind = (provider: ProviderName, kind: string, message: string): LlmError => {
  if (/rate_limit/.test(kind)) return llmError('ProviderRateLimited', provider, message, true);
  if (/overloaded|api_error|server_error|timeout/.test(kind)) return llmError('ProviderUnavailable', provider, message, true);
  return llmError('ProviderError', provider, message || 'error event in stream', false);
};

/**
 * Classifies anything an SDK call or a stream read threw. Aborts and timeouts
 * are recognised by the caller (it knows which of its own timers fired).
 */
export const classifyThrown = (
  provider: ProviderName,
  thrown: unknown,
  nowMs: number,
  isConnectionError: (e: unknown) => boolean = () => false,
): LlmError => {
  if (isErrorLike(thrown) && thrown.name === 'SyntaxError') {
    // A broken event is most likely a transient fault between us and the provider.
    return llmError('ProviderError', provider, `malformed event from provider: ${thrown.message}`, true);
  }
  if (isSdkApiError(thrown)) {
    const message = thrown.message ?? 'provider error';
    const kind = errorKind(thrown.error);
    if (typeof thrown.status === 'number') return byStatus(provider, thrown.status, kind, message, thrown.headers, nowMs);
    if (isConnectionError(thrown)) return llmError('ProviderUnavailable', provider, message, true);
    return byKind(provider, kind, message);
  }
  if (isErrorLike(thrown)) {
    // undici reports a dropped socket as `TypeError: terminated` / `fetch failed` (cause ECONNRESET...).
    const text = `${String(thrown.name)} ${thrown.message} ${String(thrown.cause ?? '')}`;
    if (/terminated|fetch failed|socket|ECONN|EPIPE|other side closed|network/i.test(text)) {
      return llmError('ProviderUnavailable', provider, `connection lost: ${thrown.message}`, true);
    }
    return llmError('ProviderError', provider, thrown.message, false);
  }
  return llmError('ProviderError', provider, String(thrown), false);
};

/** Failures that say something about the provider's health (fed to its circuit breaker). */
export const countsAgainstProvider = (e: LlmError): boolean =>
  e._tag === 'ProviderUnavailable' || e._tag === 'ProviderRateLimited' || (e._tag === 'ProviderError' && e.retryable);

/** Failures after which another provider may be tried (before the first chunk only). */
export const allowsFallback = (e: LlmError): boolean =>
  e._tag === 'ProviderUnavailable' || e._tag === 'ProviderRateLimited';
