import type { Request, Server } from '@hapi/hapi';
import hapiPino from 'hapi-pino';
import { redactUrl } from '../auth/jwtRequest.js';
import type { AppLogger } from '../logging.js';
import { traceIdOf } from '../observability/httpTracing.js';

/**
 * One log line per request through hapi-pino on the application's logger.
 * The request is logged without headers (no Authorization, no cookies) and
 * its URL passes through redactUrl, so `?token=`, `?code=` and the like never
 * reach a log line. Liveness probes and Prometheus scrapes are not logged.
 */
type LoggedRequest = { readonly id?: unknown; readonly method?: unknown; readonly url?: unknown; readonly remoteAddress?: unknown };

const requestSerializer = (req: LoggedRequest) => ({
  id: req.id,
  method: req.method,
  url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
  remoteAddress: req.remoteAddress,
});

const pathAndQuery = (request: Request): string => redactUrl(`${request.url.pathname}${request.url.search}`);

export const registerRequestLogging = async (server: Server, logger: AppLogger): Promise<void> => {
  await server.register({
    plugin: hapiPino,
    options: {
      instance: logger,
      logPayload: false,
      logQueryParams: false,
      logPathParams: false,
      logRequestStart: false,
      ignorePaths: ['/health/live', '/metrics'],
      serializers: { req: requestSerializer as never },
      getChildBindings: (request: Request) => ({ reqId: request.info.id, traceId: traceIdOf(request) }),
      customRequestCompleteMessage: (request: Request, responseTimeMs: number) => {
        const response = request.response as { statusCode?: number; output?: { statusCode: number } } | null;
        const status = response?.statusCode ?? response?.output?.statusCode ?? '-';
        return `${request.method.toUpperCase()} ${pathAndQuery(request)} ${status} (${responseTimeMs} ms)`;
      },
    },
  });
};
