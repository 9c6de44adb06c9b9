import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HttpServer } from '../../../adapters/http/server.js';
import { startHttpServer } from '../../../adapters/http/server.js';
import type { Kit, KitOptions, TestSocket } from '../ws/wsTestKit.js';
import { startKit } from '../ws/wsTestKit.js';

/**
 * The service as an attacker meets it: the WebSocket gateway and the REST
 * API on one App (one process, one event loop, one log), plus a bystander
 * that measures how fast the service still answers someone else while an
 * attack runs.
 */

export type HostileKit = Kit & { readonly http: HttpServer; readonly logText: () => string };

export const startHostileKit = async (options: KitOptions = {}): Promise<HostileKit> => {
  const kit = await startKit(options);
  const http = await startHttpServer(kit.app, { port: 0 });
  return {
    ...kit,
    http,
    logText: () => kit.logs.join(''),
    stop: async () => {
      await http.stop();
      await kit.stop();
    },
  };
};

export type Latencies = { readonly count: number; readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };

const summarize = (samples: readonly number[]): Latencies => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.POSITIVE_INFINITY;
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.POSITIVE_INFINITY };
};

/**
 * A second client that keeps asking while the attack runs: GET /health/live
 * on a kept-alive connection and a WebSocket ping on its own socket, one
 * after another, every `everyMs`. A request still unanswered when the probe
 * stops counts with its age, so a frozen process cannot hide by never answering.
 */
export const startBystander = (kit: HostileKit, socket: TestSocket, everyMs = 5) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const health: number[] = [];
  const pings: number[] = [];
  let running = true;
  let pendingSince: number | undefined;

  const get = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const req = request(`${kit.http.url}/health/live`, { agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`health ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });

  const ping = () =>
    new Promise<number>((resolve) => {
      const started = performance.now();
      socket.ws.once('pong', () => resolve(performance.now() - started));
      socket.ws.ping();
    });

  const loop = (async () => {
    while (running) {
      pendingSince = performance.now();
      health.push(await get());
      pings.push(await ping());
      pendingSince = undefined;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();

  return {
    stop: async (): Promise<{ health: Latencies; ping: Latencies }> => {
      running = false;
      const stuckFor = pendingSince === undefined ? undefined : performance.now() - pendingSince;
      await Promise.race([loop, new Promise((r) => setTimeout(r, 30_000))]);
      if (stuckFor !== undefined && health.length === 0) health.push(stuckFor);
      agent.destroy();
      return { health: summarize(health), ping: summarize(pings) };
    },
  };
};

/** Writes raw bytes on a fresh TCP connection and collects the whole answer until the server closes. */
export const rawExchange = (port: number, bytes: string | Buffer, timeoutMs = 5_000): Promise<string> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
    socket.on('connect', () => socket.write(bytes));
  });

/** Every way a secret could be spelled in a log: plain, base64, base64url, hex, a JSON byte array, URL-encoded. */
export const encodingsOf = (secret: string): string[] => {
  const bytes = Buffer.from(secret, 'utf8');
  const firstBytes = [...bytes.subarray(0, 24)].join(',');
  return [
    secret,
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    firstBytes,
    encodeURIComponent(secret),
    // base64 of the secret at each of the three alignments it can have inside a longer base64 text.
    ...[1, 2].map((shift) => Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64').slice(4, 24)),
  ].filter((s) => s.length >= 8);
};

/** The encodings of `secrets` found in `text`. */
export const leaksIn = (text: string, secrets: readonly string[]): string[] => {
  const compact = text.replace(/\s+/g, '');
  const found: string[] = [];
  for (const secret of secrets) for (const form of encodingsOf(secret)) if (text.includes(form) || compact.includes(form)) found.push(`${secret} as ${form}`);
  return found;
};

export type AttackResult = {
  readonly sent?: number;
  readonly elapsedMs?: number;
  readonly closeCode?: number;
  readonly bytesIn: number;
  readonly frames: number;
  /** Frames received by kind: `done`, `chunk`, `INSUFFICIENT_CREDITS`, `RATE_LIMIT_EXCEEDED:messages`... */
  readonly summary: Readonly<Record<string, number>>;
  readonly error?: string;
};

const ATTACKER = fileURLToPath(new URL('./attacker.mjs', import.meta.url));

/** Runs one attack from a worker thread (attacker.mjs) against the gateway as `sub`. */
export const attack = async (kit: HostileKit, sub: string, data: Record<string, unknown>): Promise<AttackResult> => {
  const token = await kit.token(sub);
  const worker = new Worker(ATTACKER, { workerData: { url: `${kit.ws.url}/`, token, ...data } });
  try {
    return await new Promise<AttackResult>((resolve, reject) => {
      worker.once('message', (m: AttackResult) => resolve(m));
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
};
