import { STATUS_CODES } from 'node:http';
import type { Server as NodeServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppLogger } from '../logging.js';
import { problemTypeUri } from './problems.js';

/**
 * Requests Node's HTTP parser refuses before hapi ever sees them: a header
 * block over the limit, a control character in a header name, a bad request
 * line, both Content-Length and Transfer-Encoding, a timeout.
 *
 * hapi's own handler logged the parser error, and the error carries the raw
 * bytes it could not parse (`rawPacket`): the Authorization header, the query
 * string with its `?code=`, the body, written to the log as a JSON byte array
 * at error level. So this handler replaces hapi's, and by construction it
 * touches nothing of the request but the parser's error code: the log line is
 * a fixed message with that code (checked against a closed pattern), a count
 * of the lines it stands for, and nothing else. At most one line per
 * `windowMs`; the rest are counted into the next line.
 *
 * The client gets a problem+json answer where the connection still allows an
 * answer (431 for oversized headers, 408 for a timeout, 400 otherwise),
 * written on the raw socket because no hapi request exists.
 */

export type ClientErrorOptions = { readonly windowMs?: number; readonly now?: () => number };

type ParserError = Error & { readonly code?: unknown };

const CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,47}$/;

/** The parser's error code when it has the shape of one, never free text. */
const codeOf = (error: ParserError): string => (typeof error.code === 'string' && CODE_PATTERN.test(error.code) ? error.code : 'UNKNOWN');

const statusFor = (code: string): { status: number; slug: string; detail: string } => {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, slug: 'request-header-fields-too-large', detail: 'The request line and headers exceed the server\'s limit.' };
  if (code === 'HPE_REQUEST_TIMEOUT' || code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, slug: 'request-timeout', detail: 'The request did not arrive in time.' };
  return { status: 400, slug: 'bad-request', detail: 'The request is not valid HTTP/1.1.' };
};

/** A complete HTTP/1.1 response carrying a problem+json body, closing the connection. */
export const rawProblemResponse = (code: string): string => {
  const { status, slug, detail } = statusFor(code);
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const body = JSON.stringify({ type: problemTypeUri(slug), title, status, detail });
  return [
    `HTTP/1.1 ${status} ${title}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
};

/** Connection errors that are a peer going away, not a malformed request: no answer, no log line. */
const GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT']);

export const installClientErrorHandler = (listener: NodeServer, logger: AppLogger, options: ClientErrorOptions = {}): void => {
  const windowMs = options.windowMs ?? 1_000;
  const now = options.now ?? Date.now;
  let windowStartMs = -Infinity;
  let suppressed = 0;

  const note = (code: string, status: number) => {
    const nowMs = now();
    if (nowMs - windowStartMs < windowMs) {
      suppressed += 1;
      return;
    }
    windowStartMs = nowMs;
    logger.warn({ event: 'http_client_error', code, status, suppressed }, 'malformed HTTP request refused');
    suppressed = 0;
  };

  listener.removeAllListeners('clientError');
  listener.on('clientError', (error: ParserError, socket: Duplex) => {
    const code = codeOf(error);
    if (GONE.has(code) || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status } = statusFor(code);
    note(code, status);
    const answer = () => {
      if (socket.writable) socket.end(rawProblemResponse(code));
      else socket.destroy();
    };
    // A response already under way on this socket (a pipelined request) finishes first; our bytes go after it.
    // A request whose body broke the parser has no response begun: it is answered here, and hapi's later
    // attempt to answer it finds the socket closed.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean; writableFinished?: boolean; once: (e: string, f: () => void) => void } })._httpMessage;
    if (inFlight !== undefined && inFlight !== null && inFlight.headersSent === true && inFlight.writableFinished !== true) inFlight.once('finish', answer);
    else answer();
  });
};
