import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { mintDevToken } from '../../adapters/auth/jwtMint.js';
import type { GatewayClient } from '../../adapters/ws/client.js';
import { connectGateway } from '../../adapters/ws/client.js';
import { fmt, percentile, spawnTs } from '../ws/spawnTs.js';
import { wallClockMs } from '../ws/timedFixture.js';
import { BENCH_SECRET, benchGatewayEnv, numberArg } from '../shared.js';

/**
 * Added time to first token on the OpenAI-compatible HTTP path, next to the
 * WebSocket path, against the same fixture in the same run: the `openai` SDK
 * straight to the fixture (the ceiling), the WebSocket gateway (JWT), the
 * HTTP endpoint with a JWT (the same metered use case), and the HTTP endpoint
 * with an API key (adds the key's own hold, one more durable append before
 * the provider request opens). Rounds alternate the paths so drift hits all.
 *
 * Run: node --import ./test/support/swcRegister.mjs bench/compat/httpTtfc.ts [--rounds 40] [--wide-rounds 5]
 * Env: FIRST_BYTE_MS (50), CHUNKS (10), CHUNK_MS (20), BENCH_STORE (SQLite temp file by default).
 */
const arg = numberArg;

const SECRET = BENCH_SECRET;
const MODEL = 'gpt-4o-mini';
const MESSAGES = [{ role: 'user' as const, content: 'Write ten words.' }];
const WIDE = 20;
const fixtureEnv = { FIRST_BYTE_MS: process.env['FIRST_BYTE_MS'] ?? '50', CHUNKS: process.env['CHUNKS'] ?? '10', CHUNK_MS: process.env['CHUNK_MS'] ?? '20' };

type Path = 'direct' | 'websocket' | 'http (jwt)' | 'http (api key)';
const paths: readonly Path[] = ['direct', 'websocket', 'http (jwt)', 'http (api key)'];

/** Streams one completion through an OpenAI SDK client; the time to its first text. */
const sdkTtft = async (sdk: OpenAI): Promise<number> => {
  const started = wallClockMs();
  let ttft = NaN;
  const stream = await sdk.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true, max_tokens: 64, stream_options: { include_usage: true } });
  for await (const part of stream) {
    const text = part.choices[0]?.delta?.content;
    if (typeof text === 'string' && text.length > 0 && Number.isNaN(ttft)) ttft = wallClockMs() - started;
  }
  return ttft;
};

const wsTtft = async (client: GatewayClient): Promise<number> => {
  const started = wallClockMs();
  let ttft = NaN;
  const answer = client.complete({ provider: 'openai', model: MODEL, messages: MESSAGES, maxTokens: 64 });
  for await (const _ of answer) if (Number.isNaN(ttft)) ttft = wallClockMs() - started;
  await answer.done;
  return ttft;
};

export const runHttpTtfc = async (): Promise<void> => {
  const rounds = arg('rounds', 40);
  const wideRounds = arg('wide-rounds', 5);
  const dir = mkdtempSync(join(tmpdir(), 'http-bench-'));
  const store = process.env['BENCH_STORE'] ?? `sqlite:${join(dir, 'ledger.db')}`;
  const fixture = await spawnTs<{ baseURL: string }>('bench/ws/timedFixture.ts', fixtureEnv);
  const gateway = await spawnTs<{ wsUrl: string; httpUrl: string; secrets: string[] }>('bench/compat/httpGatewayProcess.ts', benchGatewayEnv(store, fixture.ready.baseURL, WIDE));
  const direct = new OpenAI({ apiKey: 'test', baseURL: fixture.ready.baseURL, maxRetries: 0 });
  const jwtClients: OpenAI[] = [];
  const keyClients: OpenAI[] = [];
  const wsClients: GatewayClient[] = [];
  for (let i = 0; i < WIDE; i++) {
    const token = await mintDevToken(SECRET, `bench-${i}`);
    jwtClients.push(new OpenAI({ apiKey: token, baseURL: `${gateway.ready.httpUrl}/v1`, maxRetries: 0 }));
    keyClients.push(new OpenAI({ apiKey: gateway.ready.secrets[i] ?? '', baseURL: `${gateway.ready.httpUrl}/v1`, maxRetries: 0 }));
    wsClients.push(await connectGateway({ url: gateway.ready.wsUrl, token }));
  }
  const once = (path: Path, i: number): Promise<number> =>
    path === 'direct' ? sdkTtft(direct) : path === 'websocket' ? wsTtft(wsClients[i] as GatewayClient) : sdkTtft((path === 'http (jwt)' ? jwtClients : keyClients)[i] as OpenAI);
  try {
    for (let i = 0; i < 10; i++) for (const path of paths) await once(path, 0); // warm-up
    const rows: string[] = [];
    const json: Record<string, unknown>[] = [];
    for (const [concurrency, n] of [[1, rounds], [WIDE, wideRounds]] as const) {
      const samples: Record<Path, number[]> = { direct: [], websocket: [], 'http (jwt)': [], 'http (api key)': [] };
      for (let round = 0; round < n; round++) {
        const order = round % 2 === 0 ? paths : [...paths].reverse();
        for (const path of order) samples[path].push(...(await Promise.all(Array.from({ length: concurrency }, (_, i) => once(path, i)))));
      }
      const p = (path: Path, q: number) => percentile([...samples[path]].sort((a, b) => a - b), q);
      for (const path of paths) {
        const added = path === 'direct' ? '' : ` | ${fmt(p(path, 50) - p('direct', 50))} | ${fmt(p(path, 99) - p('direct', 99))}`;
        rows.push(`| ${concurrency} | ${path} | ${fmt(p(path, 50))} | ${fmt(p(path, 99))}${added || ' | (ceiling) | '} | ${samples[path].length} |`);
        json.push({ concurrency, path, ttft50: p(path, 50), ttft99: p(path, 99), n: samples[path].length });
      }
    }
    const lines = [
      `### Compatible HTTP API vs WebSocket: time to first token (fixture: first byte ${fixtureEnv.FIRST_BYTE_MS} ms, ${fixtureEnv.CHUNKS} chunks every ${fixtureEnv.CHUNK_MS} ms; store ${store.startsWith('sqlite') ? 'SQLite file' : store})`,
      '',
      '| concurrent streams | path | TTFT p50 (ms) | TTFT p99 (ms) | added p50 vs direct (ms) | added p99 vs direct (ms) | streams |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      'The API-key path takes the key\'s own hold (a durable append) before the account hold, so it pays one store round trip that the JWT paths hide behind the provider.',
      `Load average at the end (1 min): ${loadavg()[0]?.toFixed(2)} on 2 cores.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify({ bench: 'http-ttft', results: json })}\n`);
  } finally {
    await Promise.all(wsClients.map((c) => c.close()));
    await gateway.stop();
    await fixture.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runHttpTtfc();
