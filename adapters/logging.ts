import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import { redactUrl } from './auth/jwtRequest.js';
import { activeTraceId } from './observability/tracing.js';

/**
 * Structured logs (pino). Secrets never reach a log line: authorization
 * headers, cookies, tokens and API keys are censored by path, and URLs pass
 * through `redactUrl` (token=, code=, id_token= ...) before they are logged.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.token',
  '*.sessionToken',
  '*.apiKey',
  '*.secret',
  'token',
  'sessionToken',
  'apiKey',
  'secret',
];

export const makeLogger = (level: string, destination?: pino.DestinationStream): PinoLogger =>
  pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      serializers: {
        url: (url: unknown) => (typeof url === 'string' ? redactUrl(url) : url),
      },
      base: { service: 'credit-ledger-gateway' },
      // Lines written inside a traced request (a WebSocket completion, a provider call) carry its trace id.
      mixin: () => {
        const traceId = activeTraceId();
        return traceId === undefined ? {} : { traceId };
      },
    },
    destination,
  );

export type AppLogger = PinoLogger;
