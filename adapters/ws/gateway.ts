import * as E from 'fp-ts/lib/Either.js';
import type { MeteredCompletion } from '../../application/gateway/meteredCompletion.js';
import type { Logger } from '../../application/ports/clock.js';
import type { ProviderPreference } from '../../application/ports/llmProvider.js';
import type { CancelFrame, CompletionFrame, ResumeFrame } from './protocol.js';
import { decodeClientFrame, errorFrame, wireError } from './protocol.js';
import { makeRegistry } from './registry.js';
import { makeRequests } from './requests.js';
import type { Conn, Peer, StopReason } from './types.js';
import type { RequestLog } from './resumeBuffer.js';
import type { ResumeBuffer } from './resumeBuffer.js';
import type { MessageBudgetLimits } from './budget.js';
import { DEFAULT_BUDGET, fullBucket, makeUserBuckets, take } from './budget.js';
import type { WsObserver } from '../observability/metrics.js';

/**
 * The gateway's rules, independent of the socket library: who may connect,
 * what a frame does, caps, slow clients, heartbeat bookkeeping, resume and
 * draining. server.ts feeds it sockets; unit tests can feed it fakes.
 */

export type GatewayLimits = {
  readonly maxConnectionsPerUser: number;
  readonly maxInflightPerConnection: number;
  /** A socket with more than this queued and unsent is a slow client: it is dropped (its requests settle, resume stays possible). */
  readonly maxBufferedBytes: number;
  /** Message and replay budgets; DEFAULT_BUDGET when left out. */
  readonly budget?: MessageBudgetLimits;
};

export type GatewayDeps = {
  readonly completion: Pick<MeteredCompletion, 'run'>;
  /** Why no provider serves this model (INVALID_REQUEST), or undefined when one does. */
  readonly checkModel: (preference: ProviderPreference, model: string) => string | undefined;
  readonly resume: ResumeBuffer;
  readonly logger: Logger;
  readonly now: () => number;
  readonly limits: GatewayLimits;
  /** Told about connections and streams (Prometheus metrics); optional. */
  readonly observer?: WsObserver;
};

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: 'draining' | 'tooManyConnections' };

export type PeerWithPing = Peer & { readonly ping: () => void };

export const makeGateway = (deps: GatewayDeps) => {
  const { logger, limits, resume } = deps;
  const registry = makeRegistry();
  const peers = new Map<Conn, PeerWithPing>();
  let nextConnId = 1;
  let draining = false;
  const totals = { accepted: 0, requests: 0, slowClientsDropped: 0, heartbeatTimeouts: 0, framesOverBudget: 0, closedOverBudget: 0, resumesRefused: 0 };
  const budget = limits.budget ?? DEFAULT_BUDGET;
  const userBuckets = makeUserBuckets(budget.perUser, deps.now);
  const userBytes = makeUserBuckets(budget.bytesPerUser, deps.now);

  const send = (conn: Conn, frame: string) => {
    if (!conn.open) return;
    conn.peer.send(frame);
    if (conn.peer.bufferedAmount() > limits.maxBufferedBytes) {
      totals.slowClientsDropped += 1;
      logger.warn({ connId: conn.id, userId: conn.userId, bufferedBytes: conn.peer.bufferedAmount() }, 'slow client dropped');
      drop(conn, 'slowClient');
      conn.peer.terminate();
    }
  };

  const requests = makeRequests({ completion: deps.completion, resume, logger, now: deps.now, send, ...(deps.observer === undefined ? {} : { observer: deps.observer }) });

  const refuse = (conn: Conn, id: string | null, code: Parameters<typeof wireError>[0], message: string, retryable = false, details = {}) =>
    send(conn, errorFrame(id, wireError(code, message, retryable, details)));

  /** Forgets the socket and stops the requests still attached to it. Idempotent. */
  const drop = (conn: Conn, reason: StopReason) => {
    if (!conn.open) return;
    conn.open = false;
    deps.observer?.connectionClosed();
    registry.remove(conn);
    peers.delete(conn);
    for (const running of [...conn.requests]) {
      running.conn = undefined;
      requests.stop(running, reason);
    }
    conn.requests.clear();
  };

  const startCompletion = (conn: Conn, frame: CompletionFrame) => {
    if (draining) return refuse(conn, frame.id, 'SERVICE_UNAVAILABLE', 'server is shutting down; reconnect and retry', true);
    if (conn.tokenExpiresAtMs !== undefined && deps.now() >= conn.tokenExpiresAtMs) {
      return refuse(conn, frame.id, 'UNAUTHORIZED', 'token expired; reconnect with a fresh token', true);
    }
    if (requests.find(conn.userId, frame.id) !== undefined) {
      // Marked, so a client can tell this refusal from the end of the request that owns the id (which keeps running).
      return refuse(conn, frame.id, 'INVALID_REQUEST', `a request with id "${frame.id}" is already running`, false, { duplicate: true });
    }
    if (conn.requests.size >= limits.maxInflightPerConnection) {
      return refuse(conn, frame.id, 'RATE_LIMIT_EXCEEDED', `at most ${limits.maxInflightPerConnection} requests may run at once on one connection`, true, {
        limit: 'inflight',
        maxInflight: limits.maxInflightPerConnection,
      });
    }
    const unknown = deps.checkModel(frame.provider ?? 'auto', frame.model);
    if (unknown !== undefined) return refuse(conn, frame.id, 'INVALID_REQUEST', unknown);
    totals.requests += 1;
    requests.start(conn, frame);
  };

  const cancel = (conn: Conn, frame: CancelFrame) => {
    const running = requests.find(conn.userId, frame.id);
    if (running === undefined) return refuse(conn, frame.id, 'INVALID_REQUEST', `no running request with id "${frame.id}"`);
    requests.stop(running, 'cancel');
  };

  const resumeRequest = (conn: Conn, frame: ResumeFrame) => {
    const running = requests.find(conn.userId, frame.id);
    const log = running?.log ?? resume.find(conn.userId, frame.id);
    if (log === undefined) return refuse(conn, frame.id, 'RESUME_UNAVAILABLE', `request "${frame.id}" is unknown or no longer kept`);
    const replay = resume.replay(log, frame.after);
    if (replay.kind === 'ahead') return refuse(conn, frame.id, 'INVALID_REQUEST', `after is past the last seq sent (${replay.lastSeq})`);
    if (replay.kind === 'gap') {
      return refuse(conn, frame.id, 'RESUME_UNAVAILABLE', `chunks before seq ${replay.firstSeq} are no longer kept`, false, { firstSeq: replay.firstSeq });
    }
    const refused = replayRefusal(conn, log, replay.frames, running === undefined ? replay.terminal : undefined);
    if (refused !== undefined) {
      totals.resumesRefused += 1;
      return refuse(conn, frame.id, 'RATE_LIMIT_EXCEEDED', refused.message, refused.retryAfterMs !== undefined, refused.details);
    }
    // Attach before sending the backlog: both happen in this tick, so no chunk can slip between them.
    if (running !== undefined) requests.attach(running, conn);
    for (const frameText of replay.frames) send(conn, frameText);
    if (running === undefined && replay.terminal !== undefined) send(conn, replay.terminal);
  };

  /**
   * Why this replay may not be sent (per request: a replay count; per connection: a byte bucket), or
   * undefined when it may. A replay of nothing is always allowed: it is how a client asks "anything new?".
   */
  const replayRefusal = (conn: Conn, log: RequestLog, frames: readonly string[], terminal: string | undefined) => {
    let bytes = terminal?.length ?? 0;
    for (const f of frames) bytes += f.length;
    if (bytes === 0) return undefined;
    if (log.replays >= budget.maxReplaysPerRequest) {
      return { message: `request "${log.requestId}" was already replayed ${log.replays} times`, retryAfterMs: undefined, details: { limit: 'resumeReplays', maxReplays: budget.maxReplaysPerRequest } };
    }
    const taken = take(conn.budget.replayBytes, budget.replayBytesPerConnection, bytes, deps.now());
    if (!taken.ok) {
      const fits = bytes <= budget.replayBytesPerConnection.capacity;
      return {
        message: 'resume replay budget of this connection exceeded',
        retryAfterMs: fits ? taken.retryAfterMs : undefined,
        details: { limit: 'resumeBytes', bytes, ...(fits ? { retryAfterMs: taken.retryAfterMs } : {}) },
      };
    }
    log.replays += 1;
    return undefined;
  };

  /**
   * Spends one frame from the connection's and the user's budget before the frame is even parsed.
   * Over budget: an error frame (id null: the frame is not read), and past the strikes a close with 1008.
   */
  const admitFrame = (conn: Conn, bytes: number): boolean => {
    const nowMs = deps.now();
    const own = take(conn.budget.messages, budget.perConnection, 1, nowMs);
    const frames = own.ok ? userBuckets.take(conn.userId, 1) : own;
    // A frame larger than the whole byte burst can never pass: it is refused like any other over budget.
    const shared = frames.ok ? userBytes.take(conn.userId, Math.min(bytes, budget.bytesPerUser.capacity + 1)) : frames;
    if (shared.ok) return true;
    totals.framesOverBudget += 1;
    if (!take(conn.budget.strikes, budget.strikes, 1, nowMs).ok) {
      totals.closedOverBudget += 1;
      logger.warn({ connId: conn.id, userId: conn.userId }, 'connection closed: message budget exceeded');
      conn.peer.close(1008, 'message budget exceeded');
      drop(conn, 'budget');
      return false;
    }
    const scope = own.ok ? 'user' : 'connection';
    const limit = frames.ok ? 'bytes' : 'messages';
    refuse(conn, null, 'RATE_LIMIT_EXCEEDED', `${limit === 'bytes' ? 'byte' : 'message'} budget exceeded for this ${scope}; slow down`, true, { limit, scope, retryAfterMs: shared.retryAfterMs });
    return false;
  };

  return {
    /** Whether a verified user may open one more socket now. */
    admit: (userId: string): Admission => {
      if (draining) return { ok: false, reason: 'draining' };
      if (registry.count(userId) >= limits.maxConnectionsPerUser) return { ok: false, reason: 'tooManyConnections' };
      return { ok: true };
    },

    /** Registers an upgraded socket; undefined when a race pushed the user over the cap (the socket is closed with 1008). */
    connect: (userId: string, tokenExpiresAtMs: number | undefined, peer: PeerWithPing): Conn | undefined => {
      const admission = draining ? 'draining' : registry.count(userId) >= limits.maxConnectionsPerUser ? 'tooMany' : 'ok';
      if (admission !== 'ok') {
        peer.close(admission === 'draining' ? 1001 : 1008, admission === 'draining' ? 'server shutting down' : 'too many connections for this user');
        return undefined;
      }
      const nowMs = deps.now();
      const conn: Conn = {
        id: nextConnId++,
        userId,
        tokenExpiresAtMs,
        peer,
        requests: new Set(),
        open: true,
        alive: true,
        budget: {
          messages: fullBucket(budget.perConnection, nowMs),
          strikes: fullBucket(budget.strikes, nowMs),
          replayBytes: fullBucket(budget.replayBytesPerConnection, nowMs),
        },
      };
      registry.add(conn);
      deps.observer?.connectionOpened();
      peers.set(conn, peer);
      totals.accepted += 1;
      return conn;
    },

    /** One incoming frame. Every frame that does not start, cancel or resume a request is answered by an error frame. */
    message: (conn: Conn, raw: string | undefined | (() => string | undefined), bytes?: number) => {
      if (!conn.open) return;
      if (!admitFrame(conn, bytes ?? (typeof raw === 'string' ? raw.length : 0))) return;
      // The server passes a thunk, so a frame over budget is never even decoded from UTF-8.
      const text = typeof raw === 'function' ? raw() : raw;
      if (text === undefined) return refuse(conn, null, 'INVALID_REQUEST', 'binary frames are not accepted; send JSON text frames');
      const decoded = decodeClientFrame(text);
      if (E.isLeft(decoded)) return send(conn, errorFrame(decoded.left.id, decoded.left.error));
      const frame = decoded.right;
      if (frame.type === 'cancel') return cancel(conn, frame);
      if (frame.type === 'resume') return resumeRequest(conn, frame);
      return startCompletion(conn, frame);
    },

    disconnect: (conn: Conn, reason: StopReason = 'disconnect') => drop(conn, reason),

    pong: (conn: Conn) => {
      conn.alive = true;
    },

    /** One heartbeat round: sockets that did not answer the last ping are dropped, the others pinged. */
    heartbeat: () => {
      for (const conn of [...registry.all()]) {
        const peer = peers.get(conn);
        if (peer === undefined) continue;
        if (!conn.alive) {
          totals.heartbeatTimeouts += 1;
          logger.info({ connId: conn.id, userId: conn.userId }, 'heartbeat missed; connection terminated');
          drop(conn, 'heartbeat');
          peer.terminate();
          continue;
        }
        conn.alive = false;
        peer.ping();
      }
    },

    /**
     * Stops taking requests, lets running ones finish for up to `graceMs`,
     * then stops the rest; resolves once every request has settled and sent
     * its terminal frame.
     */
    drain: async (graceMs: number) => {
      draining = true;
      const deadline = deps.now() + graceMs;
      while (requests.count() > 0 && deps.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(20, graceMs)));
      for (const running of [...requests.all()]) requests.stop(running, 'shutdown');
      await requests.settled();
    },

    connections: () => [...registry.all()],

    stats: () => ({
      connections: registry.total(),
      users: registry.users(),
      busiestUserConnections: registry.top(1)[0]?.connections ?? 0,
      maxConnectionsPerUser: limits.maxConnectionsPerUser,
      inFlight: requests.count(),
      resumeBuffer: resume.size(),
      totals: { ...totals },
      draining,
    }),
  };
};

export type Gateway = ReturnType<typeof makeGateway>;
