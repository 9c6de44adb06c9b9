import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as E from 'fp-ts/lib/Either.js';
import type { RawData, WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import type { Principal } from '../../application/ports/tokenVerifier.js';
import type { App } from '../app.js';
import { connectionIdOfKey, KEY_CONNECTION_PREFIX, looksLikeApiKey, makeConnectionCompletion, presentedCredential } from '../auth/apiKeyAuth.js';
import { extractToken, redactUrl } from '../auth/jwtRequest.js';
import { installClientErrorHandler } from '../http/clientError.js';
import type { Gateway } from './gateway.js';
import { makeGateway } from './gateway.js';
import type { WsOptions } from './options.js';
import { wsOptionsFrom } from './options.js';
import { makeResumeBuffer } from './resumeBuffer.js';
import type { GatewayStats } from './stats.js';
import { withSettlementReceipts } from '../http/ledger/receipts.js';

export type { GatewayStats } from './stats.js';

/**
 * The WebSocket gateway on WS_PORT: authenticates the upgrade, then hands
 * sockets to the gateway rules (gateway.ts). Refused upgrades get a plain
 * HTTP answer and no socket: 401 for a missing or bad token, 429 over the
 * per-user connection cap, 503 while keys are unavailable or the server is
 * shutting down. Tokens never reach a log: URLs go through redactUrl.
 */
export type WsServer = {
  readonly url: string;
  readonly port: number;
  readonly stats: () => GatewayStats;
  /** Graceful: stop accepting, let running requests finish or settle them, close sockets with 1001. */
  readonly close: () => Promise<void>;
};

type Refusal = { readonly status: 401 | 429 | 500 | 503; readonly code: string; readonly message: string; readonly headers?: Readonly<Record<string, string>> };

/** Writes a complete HTTP answer on the raw socket and closes it (no WebSocket is created). */
const refuseUpgrade = (socket: Socket, refusal: Refusal) => {
  if (socket.destroyed) return;
  const body = JSON.stringify({ code: refusal.code, message: refusal.message });
  const headers = {
    Connection: 'close',
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    ...refusal.headers,
  };
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n${head.join('\r\n')}\r\n\r\n${body}`);
};

const refusalFor = (error: { readonly _tag: string; readonly reason?: string }): Refusal => {
  if (error._tag === 'KeysUnavailable') {
    return { status: 503, code: 'SERVICE_UNAVAILABLE', message: 'signing keys unavailable; try again shortly', headers: { 'Retry-After': '5' } };
  }
  const message = error._tag === 'TokenMissing' ? 'a bearer token is required' : error._tag === 'TokenExpired' ? 'token expired' : `invalid token: ${error.reason ?? 'rejected'}`;
  const detail = error._tag === 'TokenMissing' ? 'Bearer' : `Bearer error="invalid_token"`;
  return { status: 401, code: 'UNAUTHORIZED', message, headers: { 'WWW-Authenticate': detail } };
};

const textOf = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');

const sizeOf = (data: RawData): number =>
  Buffer.isBuffer(data) ? data.length : Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;

const expiryOf = (principal: Principal): number | undefined => {
  const exp = principal.claims['exp'];
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
};

const publicUrl = (host: string, port: number): string => {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `ws://${shown}:${port}`;
};

export const startWsServer = async (app: App, overrides: Partial<WsOptions> = {}): Promise<WsServer> => {
  const options: WsOptions = { ...wsOptionsFrom(app.config, app.env), ...overrides };
  const { logger } = app;
  const resume = makeResumeBuffer(options.resume, app.clock.now);
  const gateway: Gateway = makeGateway({
    completion: makeConnectionCompletion({ completion: withSettlementReceipts(app), keys: app.keys, keyed: app.keyed }),
    checkModel: (preference, model) => {
      const plan = app.llm.router.plan({ model, messages: [], maxTokens: 1 }, preference);
      return E.isLeft(plan) ? plan.left.message : undefined;
    },
    resume,
    logger,
    now: app.clock.now,
    observer: app.metrics.ws,
    limits: {
      maxConnectionsPerUser: options.maxConnectionsPerUser,
      maxInflightPerConnection: options.maxInflightPerConnection,
      maxBufferedBytes: options.maxBufferedBytes,
      budget: options.budget,
    },
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false, clientTracking: false });
  const sockets = new Set<WebSocket>();
  let refusedUpgrades = 0;
  let closing: Promise<void> | undefined;

  const accept = (ws: WebSocket, principal: Principal, socket: Socket) => {
    // The first frame of a turn of the event loop leaves at once; the ones that follow it in the same
    // turn (chunks that arrived together from the provider, a chunk and its done frame) are corked and
    // leave together in one write once the turn's callbacks and promise jobs have run. ws writes each
    // frame corked as well, and corks nest, so it cannot flush early.
    let sentThisTurn = false;
    let corked = false;
    const endOfTurn = () => {
      sentThisTurn = false;
      if (!corked) return;
      corked = false;
      socket.uncork();
    };
    const send = (frame: string) => {
      if (!sentThisTurn) {
        sentThisTurn = true;
        process.nextTick(endOfTurn);
      } else if (!corked && socket.writable) {
        corked = true;
        socket.cork();
      }
      ws.send(frame);
    };
    const conn = gateway.connect(principal.userId, expiryOf(principal), {
      send,
      bufferedAmount: () => ws.bufferedAmount,
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
      ping: () => ws.ping(),
    });
    if (conn === undefined) return;
    sockets.add(ws);
    ws.on('message', (data: RawData, isBinary: boolean) => gateway.message(conn, isBinary ? undefined : () => textOf(data), sizeOf(data)));
    ws.on('pong', () => gateway.pong(conn));
    ws.on('error', (error: Error) => logger.debug({ connId: conn.id, err: error.message }, 'websocket error'));
    ws.on('close', (code: number) => {
      sockets.delete(ws);
      gateway.disconnect(conn, 'disconnect');
      logger.debug({ connId: conn.id, userId: conn.userId, code }, 'websocket closed');
    });
    logger.debug({ connId: conn.id, userId: conn.userId }, 'websocket connected');
  };

  const upgrade = async (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const swallow = () => undefined;
    socket.on('error', swallow);
    const url = redactUrl(req.url ?? '/');
    const refuse = (refusal: Refusal, extra: Record<string, unknown> = {}) => {
      refusedUpgrades += 1;
      logger.info({ url, status: refusal.status, remote: socket.remoteAddress, ...extra }, `websocket upgrade refused: ${refusal.message}`);
      refuseUpgrade(socket, refusal);
    };
    if (closing !== undefined) return refuse({ status: 503, code: 'SERVICE_UNAVAILABLE', message: 'server is shutting down' });
    let verified;
    try {
      // An API key (Bearer, x-api-key or ?token=) is checked against its stream; anything else is a JWT.
      const credential = presentedCredential(req.headers, req.url);
      if (looksLikeApiKey(credential)) {
        const key = await app.keys.authenticate(credential);
        verified = E.isLeft(key)
          ? E.left({ _tag: 'TokenInvalid' as const, reason: key.left._tag === 'KeyRevoked' ? 'api key revoked' : 'unknown api key' })
          : E.right({ userId: connectionIdOfKey(key.right.keyId), claims: {} });
      } else {
        verified = await app.verifier.verify(extractToken(req.headers, req.url));
        // A JWT subject may not pose as a key-authenticated connection.
        if (E.isRight(verified) && verified.right.userId.startsWith(KEY_CONNECTION_PREFIX)) verified = E.left({ _tag: 'TokenInvalid' as const, reason: 'reserved subject' });
      }
    } catch (error) {
      logger.error({ url, err: (error as Error).message }, 'token verification failed unexpectedly');
      return refuse({ status: 500, code: 'INTERNAL', message: 'internal error' });
    }
    if (socket.destroyed) return;
    if (E.isLeft(verified)) return refuse(refusalFor(verified.left), { reason: verified.left._tag });
    const principal = verified.right;
    const admission = gateway.admit(principal.userId);
    if (!admission.ok) {
      return admission.reason === 'draining'
        ? refuse({ status: 503, code: 'SERVICE_UNAVAILABLE', message: 'server is shutting down' })
        : refuse(
            { status: 429, code: 'RATE_LIMIT_EXCEEDED', message: `at most ${options.maxConnectionsPerUser} connections per user`, headers: { 'Retry-After': '1' } },
            { userId: principal.userId },
          );
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', swallow);
      accept(ws, principal, socket);
    });
  };

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket', Connection: 'Upgrade' }).end('WebSocket endpoint: connect with ws://\n');
  });
  installClientErrorHandler(server, logger);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrade(req, socket, head).catch((error: unknown) => {
      logger.error({ err: (error as Error).message }, 'upgrade failed');
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const heartbeat = setInterval(() => gateway.heartbeat(), options.heartbeatMs);
  const sweeper = setInterval(() => resume.sweep(), Math.max(250, Math.min(options.resume.windowMs, 5_000)));
  heartbeat.unref();
  sweeper.unref();

  const close = async () => {
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    await gateway.drain(options.shutdownGraceMs);
    clearInterval(heartbeat);
    clearInterval(sweeper);
    for (const conn of gateway.connections()) conn.peer.close(1001, 'server shutting down');
    const deadline = Date.now() + options.closeTimeoutMs;
    while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const ws of sockets) ws.terminate();
    for (const conn of gateway.connections()) gateway.disconnect(conn, 'shutdown');
    server.closeAllConnections();
    await serverClosed;
    resume.clear();
    logger.info({ port }, 'websocket gateway closed');
  };

  return {
    url: publicUrl(options.host, port),
    port,
    stats: () => {
      const s = gateway.stats();
      return { ...s, totals: { ...s.totals, refusedUpgrades }, providers: app.llm.router.status() };
    },
    close: () => (closing ??= close()),
  };
};
