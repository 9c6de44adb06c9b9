import { randomUUID } from 'node:crypto';
import type { Request, ResponseObject, Server } from '@hapi/hapi';
import type { Boom } from '@hapi/boom';
import { redactUrl } from '../auth/jwtRequest.js';
import type { AppLogger } from '../logging.js';
import { traceIdOf } from '../observability/httpTracing.js';
import { whenResponseDone, type ResponseDone } from '../observability/responseDone.js';

/**
 * Request ids and the request line. Each request gets an id: the caller's
 * `x-request-id` when it is a sane token (so a proxy's id follows the request
 * through), otherwise a fresh UUID; it is returned in the `x-request-id`
 * response header, errors included. When the response is sent, one line
 * records method, route (the path pattern), the path with its query through
 * redactUrl (so `?token=` and `?code=` values never reach a log), status,
 * duration, remote address, the authenticated user id (never the token), the
 * request id and the W3C trace id. It is the only line per request.
 */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Letters, digits and . _ : - only, at most 128: enough for UUIDs, ULIDs and trace ids, nothing that could forge a log line. */
const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export const requestIdOf = (request: Request): string => {
  const existing = (request.app as { requestId?: string }).requestId;
  if (existing !== undefined) return existing;
  const sent = request.headers[REQUEST_ID_HEADER];
  const id = typeof sent === 'string' && validRequestId.test(sent) ? sent : randomUUID();
  (request.app as { requestId?: string }).requestId = id;
  return id;
};

/** Who a route that authenticates its caller itself (the compatible APIs, MCP) found: the request line names them too. */
export type NotedCaller = { readonly userId: string } | { readonly keyId: string; readonly accountId: string };

type WithCaller = { caller?: NotedCaller };

export const noteCaller = (request: Request, caller: NotedCaller): void => {
  (request.app as WithCaller).caller = caller;
};

/**
 * The outage a 503 reports (a store, Redis, the signing keys): the client gets
 * a problem type and Retry-After, the operator needs the cause, so the request
 * line carries the error's message (`err`) and is a warning. Driver messages
 * name the failure (SQLITE_FULL's "database or disk is full", ECONNREFUSED and
 * the address), not credentials.
 */
type WithOutage = { outage?: string };

export const noteOutage = (request: Request, cause: string): void => {
  (request.app as WithOutage).outage = cause;
};

const callerFields = (request: Request): { userId?: string; keyId?: string; accountId?: string } => {
  const credentials = request.auth.credentials as { userId?: unknown } | null | undefined;
  if (typeof credentials?.userId === 'string') return { userId: credentials.userId };
  return (request.app as WithCaller).caller ?? {};
};

/** Liveness probes and Prometheus scrapes come every few seconds and say nothing. */
const quietPaths = new Set(['/health/live', '/metrics']);

export const registerRequestIds = (server: Server, logger: AppLogger): void => {
  server.ext('onRequest', (request, h) => {
    requestIdOf(request);
    return h.continue;
  });
  server.ext('onPreResponse', (request, h) => {
    const response = request.response as ResponseObject | Boom | null;
    if (response !== null && 'isBoom' in response && response.isBoom) response.output.headers[REQUEST_ID_HEADER] = requestIdOf(request);
    else if (response !== null) (response as ResponseObject).header(REQUEST_ID_HEADER, requestIdOf(request));
    return h.continue;
  });
  server.events.on('response', (request) => {
    if (quietPaths.has(request.path)) return;
    whenResponseDone(request, (done) => {
      // A log line must never take the server down: the response is already sent.
      try {
        logRequest(logger, request, done);
      } catch {
        return;
      }
    });
  });
};

const logRequest = (logger: AppLogger, request: Request, done: ResponseDone): void => {
  const outage = (request.app as WithOutage).outage;
  logger[outage === undefined ? 'info' : 'warn'](
    {
      requestId: requestIdOf(request),
      method: request.method.toUpperCase(),
      route: request.route.path,
      path: redactUrl(`${request.url.pathname}${request.url.search}`),
      status: done.status,
      durationMs: done.durationMs,
      ...(done.cutShort === true ? { cutShort: true } : {}),
      remoteAddress: request.info.remoteAddress,
      ...callerFields(request),
      traceId: traceIdOf(request),
      ...(outage === undefined ? {} : { err: outage }),
    },
    'request',
  );
};
