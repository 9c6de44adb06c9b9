import { createServer, connect as tcpConnect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import * as E from 'fp-ts/lib/Either.js';
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';
import { buildApp } from '../../../adapters/app.js';
import type { App } from '../../../adapters/app.js';
import { mintDevToken } from '../../../adapters/auth/jwtMint.js';
import type { MintOptions } from '../../../adapters/auth/jwtMint.js';
import { loadConfig } from '../../../adapters/config.js';
import type { ResilienceOptions } from '../../../adapters/llm/resilience.js';
import { makeLogger } from '../../../adapters/logging.js';
import type { WsOptions } from '../../../adapters/ws/options.js';
import { startWsServer } from '../../../adapters/ws/server.js';
import type { WsServer } from '../../../adapters/ws/server.js';
import { auditLedger } from '../../../application/audit.js';
import { chargeFor } from '../../../domain/pricing/charge.js';
import { startAnthropicFixture } from '../../support/anthropicFixture.js';
import type { SseFixture } from '../../support/openaiFixture.js';
import { startOpenAiFixture } from '../../support/openaiFixture.js';

/**
 * The WebSocket gateway as the service starts it (buildApp + startWsServer,
 * the real SDK adapters pointed at the fixture servers, an in-memory or
 * SQLite store), plus a raw `ws` test socket that records every frame.
 */

export const SECRET = 'ws-e2e-secret-'.padEnd(48, 'x');

/** Small timeouts so fault tests take milliseconds; no retries unless a test wants them. */
export const TEST_RESILIENCE: Partial<ResilienceOptions> = {
  maxConcurrent: 128,
  maxQueued: 128,
  maxRetries: 0,
  initialBackoffMs: 10,
  maxBackoffMs: 20,
  connectTimeoutMs: 2_000,
  firstChunkTimeoutMs: 2_000,
  idleTimeoutMs: 2_000,
  breakerThreshold: 1_000,
};

export type Frame = {
  readonly id: string | null;
  readonly type: 'chunk' | 'done' | 'error';
  readonly seq?: number;
  readonly data?: string;
  readonly usage?: { inputTokens: number; outputTokens: number; totalTokens: number };
  readonly credits?: { charged: number; balance: number; available: number };
  readonly ended?: 'completed' | 'stopped';
  readonly provider?: string;
  readonly model?: string;
  readonly error?: { code: string; message: string; retryable: boolean } & Record<string, unknown>;
};

export type Kit = {
  readonly app: App;
  readonly ws: WsServer;
  readonly openai: SseFixture;
  readonly claude: SseFixture;
  readonly logs: string[];
  readonly token: (sub: string, options?: MintOptions) => Promise<string>;
  readonly grant: (userId: string, amount: number) => Promise<void>;
  readonly open: (sub: string, options?: ClientOptions) => Promise<TestSocket>;
  readonly eventCount: () => Promise<number>;
  /** The account's events, decoded enough for assertions. */
  readonly accountEvents: (userId: string) => Promise<{ type: string; data: Record<string, unknown> }[]>;
  readonly audit: () => Promise<readonly unknown[]>;
  readonly stop: () => Promise<void>;
};

export type KitOptions = {
  readonly env?: Readonly<Record<string, string>>;
  readonly ws?: Partial<WsOptions>;
  readonly resilience?: Partial<ResilienceOptions>;
};

let grants = 0;

export const startKit = async (options: KitOptions = {}): Promise<Kit> => {
  const [openai, claude] = await Promise.all([startOpenAiFixture(), startAnthropicFixture()]);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const env: Record<string, string> = {
    EVENT_STORE: 'memory:',
    WS_PORT: '0',
    PORT: '0',
    HOST: '127.0.0.1',
    JWT_SECRET: SECRET,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: openai.baseURL,
    ANTHROPIC_API_KEY: 'test',
    ANTHROPIC_BASE_URL: claude.baseURL,
    RATE_LIMIT_REQUESTS_PER_MIN: '10000',
    WS_SHUTDOWN_GRACE_MS: '0',
    WS_CLOSE_TIMEOUT_MS: '500',
    ...options.env,
  };
  const config = loadConfig(env);
  const logger = makeLogger('debug', sink);
  const app = await buildApp(config, env, logger, { llmResilience: { resilience: { ...TEST_RESILIENCE, ...options.resilience } } });
  const ws = await startWsServer(app, options.ws);
  const sockets: TestSocket[] = [];
  const token = (sub: string, mint: MintOptions = {}) => mintDevToken(SECRET, sub, mint);
  return {
    app,
    ws,
    openai,
    claude,
    logs,
    token,
    grant: async (userId, amount) => {
      const granted = await app.ledger.grant({ accountId: userId, grantId: `grant-${++grants}`, amount });
      if (E.isLeft(granted)) throw new Error(`grant failed: ${granted.left._tag}`);
    },
    open: async (sub, socketOptions) => {
      const socket = await openSocket(`${ws.url}/`, { ...socketOptions, headers: { Authorization: `Bearer ${await token(sub)}` } });
      sockets.push(socket);
      return socket;
    },
    eventCount: async () => {
      let n = 0;
      for await (const _ of app.store.readAll()) n += 1;
      return n;
    },
    accountEvents: async (userId) => {
      const out: { type: string; data: Record<string, unknown> }[] = [];
      for await (const e of app.store.readStream(`account-${userId}`)) out.push({ type: e.type, data: e.data as Record<string, unknown> });
      return out;
    },
    audit: async () => (await auditLedger(app.store)).violations,
    stop: async () => {
      for (const s of sockets) s.ws.terminate();
      await ws.close();
      await app.close();
      await Promise.all([openai.close(), claude.close()]);
    },
  };
};

export type TestSocket = {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  readonly send: (frame: unknown) => void;
  /** Resolves with the first recorded frame (past or future) that matches. */
  readonly next: (match: (f: Frame) => boolean, timeoutMs?: number) => Promise<Frame>;
  /** Waits for the request's done or error frame and returns all its frames. */
  readonly result: (id: string, timeoutMs?: number) => Promise<{ chunks: Frame[]; text: string; end: Frame }>;
  readonly closed: Promise<{ code: number; reason: string }>;
};

export const openSocket = (url: string, options: ClientOptions = {}): Promise<TestSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const frames: Frame[] = [];
    const watchers: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      frames.push(frame);
      for (const w of [...watchers]) {
        if (w.match(frame)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    const next = (match: (f: Frame) => boolean, timeoutMs = 5_000) => {
      const seen = frames.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<Frame>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames.slice(-5))}`)), timeoutMs);
        watchers.push({ match, resolve: (f) => (clearTimeout(timer), res(f)) });
      });
    };
    ws.once('open', () =>
      resolve({
        ws,
        frames,
        send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        next,
        closed,
        result: async (id, timeoutMs) => {
          const end = await next((f) => f.id === id && (f.type === 'done' || f.type === 'error'), timeoutMs);
          const chunks = frames.filter((f) => f.id === id && f.type === 'chunk');
          return { chunks, text: chunks.map((c) => c.data).join(''), end };
        },
      }),
    );
    ws.once('error', reject);
  });

/** Tries an upgrade and reports the HTTP refusal (status and JSON body), or 'open'. */
export const tryUpgrade = (url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> } | 'open'> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
        req.destroy();
      });
    });
    ws.once('error', (e) => reject(e));
  });

export const ask = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'chat',
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello.' }],
  stream: true,
  maxTokens: 64,
  ...extra,
});

/** The charge the price sheet gives for this usage. */
export const priceOf = (app: App, model: string, usage: { inputTokens: number; outputTokens: number }): number => {
  const charge = chargeFor(app.llm.prices.current(), model, usage);
  if (E.isLeft(charge)) throw new Error(`cannot price ${model}`);
  return charge.right.credits;
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (or fails the test after `timeoutMs`). */
export const eventually = async (check: () => boolean | Promise<boolean>, timeoutMs = 3_000, what = 'condition'): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await sleep(10);
  }
};

/**
 * A TCP relay in front of the gateway. `cutClients` destroys the client-side
 * sockets but keeps the gateway-side ones open: what a phone switching
 * networks looks like to the server, which still believes the old socket alive.
 */
export const startProxy = async (targetPort: number) => {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!client.destroyed) client.write(d);
    });
    client.on('close', () => pairs.delete(pair));
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const orphans: Socket[] = [];
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cutClients: () => {
      for (const pair of [...pairs]) {
        orphans.push(pair.upstream);
        pair.client.destroy();
      }
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      for (const o of orphans) o.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
};
