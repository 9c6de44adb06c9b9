import type { Request, Server } from '@hapi/hapi';
import hapiPino from 'hapi-pino';
import { redactUrl } from '../auth/jwtRequest.js';
import type { AppLogger } from '../logging.js';
import { traceIdOf } from '../observability/httpTracing.js';

/**
 * hapi-pino on the application's logger, for the server's start and stop and
 * for failed requests (with the error). The one line per request is
 * requestLog.ts's (route, status, user, request and trace id): hapi-pino's
 * own response line is off, so a request is not logged twice. What it does
 * log carries no headers (no Authorization, no cookies) and URLs pass
 * through redactUrl, so `?token=`, `?code=` and the like never reach a log line.
 */
type LoggedRequest = { readonly id?: unknown; readonly method?: unknown; readonly url?: unknown; readonly remoteAddress?: unknown };

const requestSerializer = (req: LoggedRequest) => ({
  id: req.id,
  method: req.method,
  url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
  remoteAddress: req.remoteAddress,
});

export const registerRequestLogging = async (server: Server, logger: AppLogger): Promise<void> => {
  await server.register({
    plugin: hapiPino,
    options: {
      instance: logger,
      logPayload: false,
      logQueryParams: false,
      logPathParams: false,
      logRequestStart: false,
      logEvents: ['onPostStart', 'onPostStop', 'request-error'],
      ignorePaths: ['/health/live', '/metrics'],
      serializers: { req: requestSerializer as never },
      getChildBindings: (request: Request) => ({ reqId: request.info.id, traceId: traceIdOf(request) }),
    },
  });
};
