import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import OpenAI from 'openai';
import { mintDevToken } from '../../adapters/auth/jwtMint.js';
import type { GatewayClient } from '../../adapters/ws/client.js';
import { connectGateway } from '../../adapters/ws/client.js';
import type { Child } from '../ws/spawnTs.js';
import { spawnTs } from '../ws/spawnTs.js';
import { BENCH_SECRET, benchGatewayEnv } from '../shared.js';
import { wallClockMs } from '../ws/timedFixture.js';
import type { PortkeyChild } from './portkeyProcess.js';
import { preparePortkey, startPortkey } from './portkeyProcess.js';

/**
 * The four paths of the side-by-side benchmark, each a function that streams
 * one chat completion and reports its time to first chunk and whether the
 * whole text arrived: the `openai` SDK straight to the fixture; our WebSocket
 * gateway (its own process); our OpenAI-compatible HTTP API (its own process,
 * the SDK with a JWT as in bench/compat/httpTtfc.ts); Portkey's gateway (the
 * SDK with Portkey's routing headers). Every gateway runs in a child process
 * whose pid is known, so its CPU time can be read from /proc.
 */
export type PathName = 'direct' | 'websocket' | 'http (jwt)' | 'portkey' | 'websocket (before)' | 'http (jwt) (before)';
export const PATHS: readonly PathName[] = ['direct', 'websocket', 'http (jwt)', 'portkey'];

export type Outcome = { readonly ttfcMs: number; readonly complete: boolean; readonly error?: string };

export type Gateway = {
  readonly pid: number;
  /** Our processes answer 'stats' with process.cpuUsage() over IPC; Portkey does not. */
  readonly ipc?: ChildProcess;
};

export type Paths = {
  /** The paths started, in the order they are measured. */
  readonly names: readonly PathName[];
  readonly once: (path: PathName, worker: number) => Promise<Outcome>;
  readonly gateways: Partial<Record<PathName, Gateway>>;
  readonly stop: () => Promise<void>;
};

export type PathsOptions = {
  readonly dir: string;
  readonly fixtureEnv: Readonly<Record<string, string>>;
  /** One account (and connection or SDK client) per concurrent worker. */
  readonly workers: number;
  readonly only?: readonly PathName[];
  /** Node flags for the WebSocket gateway, e.g. --cpu-prof. */
  readonly wsNodeArgs?: readonly string[];
  /** Node flags for the HTTP gateway. */
  readonly httpNodeArgs?: readonly string[];
  /**
   * A checkout of an earlier commit (built, with node_modules): its WebSocket gateway runs beside
   * ours as 'websocket (before)' (and its HTTP API as 'http (jwt) (before)'), so a change is measured
   * before and after in the same run.
   */
  readonly beforeDir?: string;
};

const SECRET = BENCH_SECRET;
const MODEL = 'gpt-4o-mini';
const MESSAGES = [{ role: 'user' as const, content: 'Write twenty words.' }];
// Room for the fixture's time stamps, which the gateway's own token count sees as text: a hold for 64 tokens would be exceeded.
const MAX_TOKENS = 512;
const stampless = (text: string) => text.replace(/\[\d+\.\d+\]/g, '');
/** Complete when the whole text arrived; otherwise says what did. */
const judged = (ttfcMs: number, text: string, expected: string, ended = true): Outcome =>
  stampless(text) === expected && ended ? { ttfcMs, complete: true } : { ttfcMs, complete: false, error: `incomplete (ended: ${ended}): "${stampless(text).slice(0, 120)}"` };

const gatewayEnv = (store: string, baseURL: string, users: number): Record<string, string> => ({
  ...benchGatewayEnv(store, baseURL, users),
  // The HTTP API asks for provider 'auto', which spreads load by in-flight count: with no Anthropic key the
  // other candidate is the scripted provider, so weight 0 keeps every stream on the fixture, as on the other paths.
  LLM_WEIGHTS: 'openai=1,claude=0',
});

/** Streams one completion through an OpenAI SDK client. */
const sdkOnce = async (sdk: OpenAI, expected: string): Promise<Outcome> => {
  const started = wallClockMs();
  let ttfcMs = NaN;
  let text = '';
  const stream = await sdk.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true, max_tokens: MAX_TOKENS, stream_options: { include_usage: true } });
  for await (const part of stream) {
    const delta = part.choices[0]?.delta?.content;
    if (typeof delta !== 'string' || delta.length === 0) continue;
    if (Number.isNaN(ttfcMs)) ttfcMs = wallClockMs() - started;
    text += delta;
  }
  return judged(ttfcMs, text, expected);
};

/** Streams one completion over a WebSocket connection; complete once the settled done frame has arrived. */
const wsOnce = async (client: GatewayClient, expected: string): Promise<Outcome> => {
  const started = wallClockMs();
  let ttfcMs = NaN;
  let text = '';
  const answer = client.complete({ provider: 'openai', model: MODEL, messages: MESSAGES, maxTokens: MAX_TOKENS });
  for await (const chunk of answer) {
    if (Number.isNaN(ttfcMs)) ttfcMs = wallClockMs() - started;
    text += chunk.data;
  }
  const done = await answer.done;
  return judged(ttfcMs, text, expected, done.ended === 'completed');
};

const failed = (error: unknown): Outcome => ({ ttfcMs: NaN, complete: false, error: error instanceof Error ? error.message : String(error) });

/** Starts the fixture and every gateway the chosen paths need; `stop` ends them all. */
export const startPaths = async (options: PathsOptions): Promise<Paths> => {
  const want = (p: PathName) => options.only === undefined || options.only.includes(p);
  const chunks = Number(options.fixtureEnv['CHUNKS']);
  const expected = Array.from({ length: chunks }, (_, i) => ` w${i}`).join('');
  const children: { stop: () => Promise<void> }[] = [];
  const fixture = await spawnTs<{ baseURL: string }>('bench/ws/timedFixture.ts', options.fixtureEnv);
  children.push(fixture);
  const gateways: Partial<Record<PathName, Gateway>> = {};
  const direct = new OpenAI({ apiKey: 'test', baseURL: fixture.ready.baseURL, maxRetries: 0 });
  const tokens = await Promise.all(Array.from({ length: options.workers }, (_, i) => mintDevToken(SECRET, `bench-${i}`)));

  // One of our gateways (this checkout's, or the `before` checkout's) in its own process, on its own SQLite file.
  type SpawnOptions = Parameters<typeof spawnTs>[2];
  const startWs = async (name: PathName, db: string, spawn: SpawnOptions): Promise<GatewayClient[]> => {
    const env = gatewayEnv(`sqlite:${join(options.dir, db)}`, fixture.ready.baseURL, options.workers);
    const child: Child<{ url: string }> = await spawnTs('bench/ws/gatewayProcess.ts', env, spawn);
    children.push(child);
    gateways[name] = { pid: child.process.pid as number, ipc: child.process };
    return Promise.all(tokens.map((token) => connectGateway({ url: child.ready.url, token })));
  };
  const startHttp = async (name: PathName, db: string, spawn: SpawnOptions): Promise<OpenAI[]> => {
    const env = gatewayEnv(`sqlite:${join(options.dir, db)}`, fixture.ready.baseURL, options.workers);
    const child: Child<{ httpUrl: string }> = await spawnTs('bench/compat/httpGatewayProcess.ts', env, spawn);
    children.push(child);
    gateways[name] = { pid: child.process.pid as number, ipc: child.process };
    return tokens.map((token) => new OpenAI({ apiKey: token, baseURL: `${child.ready.httpUrl}/v1`, maxRetries: 0 }));
  };
  const before = options.beforeDir === undefined ? undefined : { cwd: options.beforeDir };

  const ws = want('websocket') ? await startWs('websocket', 'ws-ledger.db', { nodeArgs: options.wsNodeArgs ?? [] }) : [];
  const wsBefore = before !== undefined && want('websocket (before)') ? await startWs('websocket (before)', 'ws-before-ledger.db', before) : [];
  const http = want('http (jwt)') ? await startHttp('http (jwt)', 'http-ledger.db', { nodeArgs: options.httpNodeArgs ?? [] }) : [];
  const httpBefore = before !== undefined && want('http (jwt) (before)') ? await startHttp('http (jwt) (before)', 'http-before-ledger.db', before) : [];
  let portkey: OpenAI | undefined;
  if (want('portkey')) {
    const child: PortkeyChild = await startPortkey(preparePortkey(options.dir));
    children.push(child);
    gateways.portkey = { pid: child.pid };
    // Portkey routes by headers: the provider, and the fixture as the provider's host (it appends /chat/completions).
    const headers = { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': fixture.ready.baseURL };
    portkey = new OpenAI({ apiKey: 'test', baseURL: child.baseURL, maxRetries: 0, defaultHeaders: headers });
  }

  const attempt = (path: PathName, worker: number): Promise<Outcome> => {
    if (path === 'direct') return sdkOnce(direct, expected);
    if (path === 'websocket') return wsOnce(ws[worker] as GatewayClient, expected);
    if (path === 'websocket (before)') return wsOnce(wsBefore[worker] as GatewayClient, expected);
    if (path === 'http (jwt)') return sdkOnce(http[worker] as OpenAI, expected);
    if (path === 'http (jwt) (before)') return sdkOnce(httpBefore[worker] as OpenAI, expected);
    return sdkOnce(portkey as OpenAI, expected);
  };
  const befores = options.beforeDir === undefined ? [] : (['websocket (before)', 'http (jwt) (before)'] as const).filter(want);
  const names = [...PATHS.filter(want), ...befores];
  return {
    names,
    once: (path, worker) => attempt(path, worker).catch(failed),
    gateways,
    stop: async () => {
      await Promise.all([...ws, ...wsBefore].map((c) => c.close()));
      for (const child of children.reverse()) await child.stop();
    },
  };
};
