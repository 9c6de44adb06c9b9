import type { Request, ResponseToolkit } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { KeyedRequest } from '../../../application/apiKeys/meteredWithKey.js';
import type { CompletionDone, CompletionSink } from '../../../application/gateway/meteredCompletion.js';
import type { App } from '../../app.js';
import type { Caller } from '../../auth/apiKeyAuth.js';
import { isLimiterUnavailable } from '../../../application/ports/rateLimiter.js';
import { isStoreUnavailable } from '../../../application/ports/sessionStore.js';
import { isEventStoreUnavailable } from '../../../application/storeOutage.js';
import { REQUEST_ID_HEADER, requestIdOf } from '../requestLog.js';
import type { CompatError } from './errors.js';

/**
 * Runs a completion for a compatible-API caller through the same metered use
 * case as the WebSocket path: a key pays through its own hold first
 * (application/apiKeys/meteredWithKey.ts), a JWT user pays directly.
 *
 * The HTTP status must be chosen before the first byte, so a streaming
 * answer waits for the first paid chunk (or the end): a refusal (no credit,
 * rate limit, unknown model) is still a plain JSON error with its status,
 * which is what the SDKs turn into their error classes.
 */
export type Outcome = E.Either<CompatError, CompletionDone>;

/**
 * A completion that throws becomes an error in the API's shape. A store being
 * down (the ledger, Redis) is an outage, answered as the REST and WebSocket
 * APIs answer it: 503 (Anthropic: 529) with Retry-After, nothing charged twice
 * on a retry; the reason goes to the log only. Anything else is a bug: a
 * provider-style server error, logged as one. A hold it left expires.
 */
export const runAs = (app: App, caller: Caller, req: KeyedRequest, sink: CompletionSink, signal: AbortSignal): Promise<Outcome> =>
  (caller.kind === 'key' ? app.keyed.run(caller.key, req, sink, signal) : app.completion.run({ ...req, userId: caller.userId }, sink, signal)).catch(
    (error: unknown): Outcome => {
      const err = error instanceof Error ? error.message : String(error);
      if (isEventStoreUnavailable(error) || isStoreUnavailable(error) || isLimiterUnavailable(error)) {
        app.logger.warn({ requestId: req.requestId, err }, 'compatible completion refused: a store is unavailable');
        return E.left({ _tag: 'StoreUnavailable' });
      }
      app.logger.error({ requestId: req.requestId, err }, 'compatible completion failed unexpectedly');
      return E.left({ _tag: 'ProviderError', message: 'internal error', retryable: true });
    },
  );

export type Started = {
  /** Text that arrived before the answer began (already paid for). */
  readonly early: readonly string[];
  /** Set once the completion has ended, if it ended before the first chunk. */
  readonly endedFirst: Outcome | undefined;
  /** Further text goes here once the caller is ready for it. */
  readonly follow: (onChunk: (text: string) => void) => void;
  readonly done: Promise<Outcome>;
};

/** Starts the completion and resolves at its first chunk or its end, whichever comes first. */
export const startCompletion = async (run: (sink: CompletionSink) => Promise<Outcome>): Promise<Started> => {
  const early: string[] = [];
  let onChunk: ((text: string) => void) | undefined;
  let first: () => void = () => undefined;
  const firstChunk = new Promise<void>((resolve) => (first = resolve));
  const done = run({
    chunk: (text) => {
      if (onChunk !== undefined) onChunk(text);
      else {
        early.push(text);
        first();
      }
    },
  });
  let endedFirst: Outcome | undefined;
  await Promise.race([firstChunk, done.then((outcome) => void (endedFirst = early.length === 0 ? outcome : undefined))]);
  return { early, endedFirst, done, follow: (f) => void (onChunk = f) };
};

/** Aborts when the client goes away before the answer is complete (settled for what was produced, as on WebSocket). */
export const abortOnDisconnect = (request: Request): AbortController => {
  const controller = new AbortController();
  const res = request.raw.res;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort('disconnect');
  });
  return controller;
};

/**
 * An SSE answer written straight to the socket: hapi's response pipeline
 * (compression, stream piping) would hold the first events back; here each
 * event leaves when it is written. The handler returns `h.abandon`, so hapi
 * sends nothing itself; the request log, metrics and span record the
 * request when the stream ends (observability/responseDone.ts).
 */
export type SseWriter = { readonly send: (frame: string) => void; readonly end: () => void };

export const startSse = (request: Request, h: ResponseToolkit, extraHeaders: Readonly<Record<string, string>> = {}): { sse: SseWriter; result: symbol } => {
  const res = request.raw.res;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    // hapi adds it to the responses it sends; this one bypasses hapi (see registerRequestIds).
    [REQUEST_ID_HEADER]: requestIdOf(request),
    ...extraHeaders,
  });
  res.flushHeaders();
  const sse: SseWriter = {
    send: (frame) => {
      if (!res.writableEnded && !res.destroyed) res.write(frame);
    },
    end: () => {
      if (!res.writableEnded) res.end();
    },
  };
  return { sse, result: h.abandon };
};

/** Whole-text message content: a string, or an array of text parts (other parts are refused by the codecs). */
export const textOf = (content: string | readonly { readonly text: string }[]): string =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');
