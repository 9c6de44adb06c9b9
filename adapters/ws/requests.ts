import * as E from 'fp-ts/lib/Either.js';
import type { GatewayError } from '../../application/gateway/errors.js';
import type { CompletionDone, CompletionRequest, MeteredCompletion } from '../../application/gateway/meteredCompletion.js';
import type { Logger } from '../../application/ports/clock.js';
import { isStoreUnavailable } from '../../application/ports/sessionStore.js';
import { isEventStoreUnavailable } from '../../application/storeOutage.js';
import type { CompletionFrame } from './protocol.js';
import { doneFrame, errorFrame, toWireError, wireError, type DoneInfo } from './protocol.js';
import type { ResumeBuffer } from './resumeBuffer.js';
import type { Conn, Running, StopReason } from './types.js';
import type { WsObserver } from '../observability/metrics.js';
import { contextFrom, endSpan, startSpan, withSpan } from '../observability/tracing.js';

/**
 * Running requests: each one is a metered completion (application/gateway),
 * whose chunks this module numbers, keeps for resume and sends to whichever
 * socket the request is attached to at that moment. The money rules live in
 * the completion; here a request is only framed, stopped, moved between
 * sockets, and logged once when it ends.
 */

export type RequestsDeps = {
  readonly completion: Pick<MeteredCompletion, 'run'>;
  readonly resume: ResumeBuffer;
  readonly logger: Logger;
  readonly now: () => number;
  /** Sends to an open socket (and applies the slow-client rule). */
  readonly send: (conn: Conn, frame: string) => void;
  readonly observer?: WsObserver;
};

type Outcome = E.Either<GatewayError, CompletionDone> | { readonly thrown: unknown };

const isThrown = (o: Outcome): o is { readonly thrown: unknown } => 'thrown' in o;

export const makeRequests = (deps: RequestsDeps) => {
  const { resume, logger, now } = deps;
  const byUser = new Map<string, Map<string, Running>>();
  let count = 0;

  const deliver = (running: Running, frame: string) => {
    if (running.conn?.open === true) deps.send(running.conn, frame);
  };

  const emit = (running: Running, text: string) => {
    running.chunks += 1;
    running.firstChunkAtMs ??= now();
    deliver(running, resume.chunk(running.log, text));
  };

  const forget = (running: Running) => {
    const mine = byUser.get(running.userId);
    if (mine?.get(running.requestId) !== running) return;
    mine.delete(running.requestId);
    if (mine.size === 0) byUser.delete(running.userId);
    running.conn?.requests.delete(running);
    running.conn = undefined;
    count -= 1;
  };

  const terminalOf = (running: Running, outcome: Outcome): { frame: string; outcome: string; fields: Record<string, unknown> } => {
    if (isThrown(outcome) && (isEventStoreUnavailable(outcome.thrown) || isStoreUnavailable(outcome.thrown))) {
      // An outage, not a bug: the client may send the same request again shortly; nothing was charged twice.
      logger.warn({ requestId: running.requestId, userId: running.userId, err: errorText(outcome.thrown) }, 'completion refused: a store is unavailable');
      const error = wireError('SERVICE_UNAVAILABLE', 'the ledger store is unavailable; try again shortly', true, { retryAfterMs: 2000 });
      return { frame: errorFrame(running.requestId, error), outcome: 'SERVICE_UNAVAILABLE', fields: {} };
    }
    if (isThrown(outcome)) {
      logger.error({ requestId: running.requestId, userId: running.userId, err: errorText(outcome.thrown) }, 'completion failed unexpectedly');
      return { frame: errorFrame(running.requestId, wireError('INTERNAL', 'internal error', true)), outcome: 'INTERNAL', fields: {} };
    }
    if (E.isLeft(outcome)) {
      const error = toWireError(outcome.left);
      const settled = 'settled' in outcome.left ? outcome.left.settled : undefined;
      // The client hears "rate limiter unavailable"; the log line keeps the driver's reason for the operator.
      const cause = outcome.left._tag === 'LimiterUnavailable' ? { err: outcome.left.message } : {};
      return { frame: errorFrame(running.requestId, error), outcome: error.code, fields: settled === undefined ? cause : { credits: settled.charged, balance: settled.balance, ...cause } };
    }
    const done = outcome.right;
    return {
      frame: doneFrame(running.requestId, { provider: done.provider, model: done.model, usage: done.usage, ended: done.ended, ...(done.stopReason === undefined ? {} : { stopReason: done.stopReason }), credits: done, receipt: (done as { receipt?: DoneInfo['receipt'] }).receipt }),
      outcome: done.ended === 'completed' ? 'completed' : `stopped:${running.stopReason ?? 'unknown'}`,
      fields: {
        provider: done.provider,
        model: done.model,
        inputTokens: done.usage.inputTokens,
        outputTokens: done.usage.outputTokens,
        credits: done.charged,
        ...(done.pending === true ? { chargePending: true } : {}),
        held: done.held,
        balance: done.balance,
      },
    };
  };

  const finish = (running: Running, outcome: Outcome) => {
    // A buffered (stream: false) answer goes out as one chunk, before the terminal frame, whenever text was paid for.
    if (running.collected !== undefined && running.collected.length > 0) {
      const text = running.collected.join('');
      running.collected.length = 0;
      deliver(running, resume.chunk(running.log, text));
    }
    const terminal = terminalOf(running, outcome);
    resume.end(running.log, terminal.frame);
    deliver(running, terminal.frame);
    forget(running);
    const endedAt = now();
    deps.observer?.streamEnded({
      outcome: terminal.outcome === 'completed' ? 'completed' : terminal.outcome.startsWith('stopped') ? 'stopped' : 'error',
      provider: typeof terminal.fields['provider'] === 'string' ? terminal.fields['provider'] : '',
      firstChunkMs: running.firstChunkAtMs === undefined ? null : running.firstChunkAtMs - running.startedAtMs,
      durationMs: endedAt - running.startedAtMs,
    });
    logger.info(
      {
        event: 'llm_usage',
        userId: running.userId,
        requestId: running.requestId,
        requestedProvider: running.frame.provider ?? 'auto',
        requestedModel: running.frame.model,
        stream: running.frame.stream,
        chunks: running.chunks,
        latencyMs: endedAt - running.startedAtMs,
        firstChunkMs: running.firstChunkAtMs === undefined ? null : running.firstChunkAtMs - running.startedAtMs,
        outcome: terminal.outcome,
        ...terminal.fields,
      },
      'llm request',
    );
  };

  const requestOf = (userId: string, frame: CompletionFrame): CompletionRequest => ({
    requestId: frame.id,
    userId,
    preference: frame.provider ?? 'auto',
    model: frame.model,
    messages: frame.messages,
    ...(frame.maxTokens === undefined ? {} : { maxTokens: frame.maxTokens }),
    ...(frame.temperature === undefined ? {} : { temperature: frame.temperature }),
  });

  return {
    /** Starts a request on `conn`; the caller has checked ids and caps. */
    start: (conn: Conn, frame: CompletionFrame): Running => {
      const running: Running = {
        requestId: frame.id,
        userId: conn.userId,
        frame,
        controller: new AbortController(),
        log: resume.open(conn.userId, frame.id),
        conn,
        startedAtMs: now(),
        firstChunkAtMs: undefined,
        chunks: 0,
        collected: frame.stream ? undefined : [],
        stopReason: undefined,
        done: Promise.resolve(),
      };
      let mine = byUser.get(conn.userId);
      if (mine === undefined) {
        mine = new Map();
        byUser.set(conn.userId, mine);
      }
      mine.set(frame.id, running);
      conn.requests.add(running);
      count += 1;
      const sink = {
        chunk: (text: string) => {
          if (running.collected !== undefined) {
            running.collected.push(text);
            running.firstChunkAtMs ??= now();
            running.chunks += 1;
          } else emit(running, text);
        },
      };
      deps.observer?.streamStarted();
      // A W3C traceparent on the frame makes this request part of the caller's trace (provider calls included).
      const span = startSpan('ws completion', contextFrom(frame), undefined, { 'ledger.request_id': frame.id, 'llm.model': frame.model });
      running.done = withSpan(span, () => deps.completion.run(requestOf(conn.userId, frame), sink, running.controller.signal))
        .catch((thrown: unknown): Outcome => ({ thrown }))
        .then((outcome) => withSpan(span, () => finish(running, outcome)))
        .finally(() => endSpan(span))
        .catch((error: unknown) => logger.error({ requestId: frame.id, err: errorText(error) }, 'could not finish a request'));
      return running;
    },

    find: (userId: string, requestId: string): Running | undefined => byUser.get(userId)?.get(requestId),

    /** Aborts the request; the completion settles what was produced and the terminal frame follows. */
    stop: (running: Running, reason: StopReason) => {
      running.stopReason ??= reason;
      running.controller.abort(reason);
    },

    /** Moves a running request to another socket (resume from a new connection). */
    attach: (running: Running, conn: Conn) => {
      running.conn?.requests.delete(running);
      running.conn = conn;
      conn.requests.add(running);
    },

    count: () => count,

    all: function* (): Generator<Running> {
      for (const mine of byUser.values()) yield* mine.values();
    },

    /** Resolves when every request running now has sent its terminal frame. */
    settled: async () => {
      const pending: Promise<void>[] = [];
      for (const mine of byUser.values()) for (const running of mine.values()) pending.push(running.done);
      await Promise.all(pending);
    },
  };
};

export type Requests = ReturnType<typeof makeRequests>;
export type { Running, StopReason } from './types.js';

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
