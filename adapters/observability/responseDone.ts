import type { Request } from '@hapi/hapi';

/**
 * When a request is really over, and with which status.
 *
 * hapi emits its 'response' event as soon as a handler returns `h.abandon`
 * (the handler writes the response itself: the SSE streams of the
 * compatible APIs, MCP, the OAuth server), long before that response ends,
 * and `request.response` is then the abandon symbol, not a response object.
 * The request log, the HTTP metrics and the server span all go through
 * `whenResponseDone`, so a stream is recorded once, when its socket response
 * finished or closed, with the status it was sent with and its whole
 * duration.
 */
export type ResponseDone = {
  /** The status sent; undefined when no response head was ever sent (the client left first). */
  readonly status: number | undefined;
  /** Milliseconds from receipt to the end of the response. */
  readonly durationMs: number;
  /** A response written by its handler that the client closed before it was finished (a stream cut short). */
  readonly cutShort?: true;
};

const boomStatus = (response: object): number | undefined => {
  const r = response as { isBoom?: boolean; output?: { statusCode?: number }; statusCode?: number };
  return r.isBoom === true ? r.output?.statusCode : r.statusCode;
};

export const whenResponseDone = (request: Request, done: (outcome: ResponseDone) => void, now: () => number = Date.now): void => {
  const response = request.response as unknown;
  const received = request.info.received;
  if (typeof response === 'object') {
    // A response hapi sent (or none at all, null): it is over now.
    done({ status: response === null ? undefined : boomStatus(response), durationMs: Math.max(0, (request.info.responded || now()) - received) });
    return;
  }
  const res = request.raw.res;
  let recorded = false;
  const finish = (sentToTheEnd: boolean) => {
    if (recorded) return;
    recorded = true;
    const outcome = { status: res.headersSent ? res.statusCode : undefined, durationMs: Math.max(0, now() - received) };
    done(sentToTheEnd ? outcome : { ...outcome, cutShort: true });
  };
  if (res.writableFinished || res.destroyed) finish(res.writableFinished);
  else {
    // 'finish' when it was sent to its end; 'close' alone when the client left first (on a real socket it also follows a finish).
    res.once('finish', () => finish(true));
    res.once('close', () => finish(res.writableFinished));
  }
};
