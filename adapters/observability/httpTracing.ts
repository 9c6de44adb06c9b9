import type { Request, ResponseToolkit, Server } from '@hapi/hapi';
import type { Span } from '@opentelemetry/api';
import { whenResponseDone } from './responseDone.js';
import { contextFrom, endSpan, startSpan } from './tracing.js';

/**
 * A server span per REST request, child of the caller's W3C `traceparent`
 * when it sends one. The span rides on `request.app`, where the request log
 * line finds its trace id (adapters/http/logging.ts).
 */
type WithSpan = { span?: Span };

export const spanOf = (request: Request): Span | undefined => (request.app as WithSpan).span;

export const traceIdOf = (request: Request): string | undefined => spanOf(request)?.spanContext().traceId;

export const registerHttpTracing = (server: Server): void => {
  server.ext('onRequest', (request: Request, h: ResponseToolkit) => {
    const span = startSpan(`HTTP ${request.method.toUpperCase()}`, contextFrom(request.headers), undefined, { 'http.request.method': request.method.toUpperCase() });
    (request.app as WithSpan).span = span;
    return h.continue;
  });
  server.events.on('response', (request: Request) => {
    const span = spanOf(request);
    if (span === undefined) return;
    whenResponseDone(request, (done) => {
      const status = done.status ?? 0;
      span.updateName(`${request.method.toUpperCase()} ${request.route.path}`);
      span.setAttribute('http.route', request.route.path);
      span.setAttribute('http.response.status_code', status);
      endSpan(span, status >= 500 ? `status ${status}` : undefined);
    });
  });
};
