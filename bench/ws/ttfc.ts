import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { mintDevToken } from '../../adapters/auth/jwtMint.js';
import type { GatewayClient } from '../../adapters/ws/client.js';
import { connectGateway } from '../../adapters/ws/client.js';
import { askStats, fmt, percentile, pinSelf, spawnTs } from './spawnTs.js';
import { wallClockMs } from './timedFixture.js';
import { numberArg } from '../shared.js';

/**
 * Time to first chunk and per-chunk latency through the WebSocket gateway,
 * against the real `openai` SDK talking to the same fixture server directly,
 * in the same run, at 1 and 100 concurrent streams.
 *
 * Three processes: the fixture (stamps every chunk with the moment it wrote
 * it), the gateway (SQLite store in a temp dir, real OpenAI adapter), and
 * this one, which runs both clients and alternates direct and gateway rounds
 * so drift hits both alike. Per-chunk latency = arrival - fixture stamp.
 *
 * Run: node --import ./test/support/swcRegister.mjs bench/ws/ttfc.ts [--rounds 50] [--wide-rounds 10] [--pin]
 * Env: FIRST_BYTE_MS (50), CHUNKS (20), CHUNK_MS (20: about a real model's 50 tokens/s),
 * BENCH_STORE (a SQLite temp file by default; "memory:" for memory), BENCH_PROFILE_DIR (CPU profile of the gateway).
 * --pin: the gateway on CPU 1, this process and the fixture on CPU 0.
 */
const arg = numberArg;

const SECRET = 'bench-secret-'.padEnd(48, 'x');
const MODEL = 'gpt-4o-mini';
const MESSAGES = [{ role: 'user' as const, content: 'Write ten words.' }];
const WIDE = arg('wide', 100);

const fixtureEnv = {
  FIRST_BYTE_MS: process.env['FIRST_BYTE_MS'] ?? '50',
  CHUNKS: process.env['CHUNKS'] ?? '20',
  CHUNK_MS: process.env['CHUNK_MS'] ?? '20',
};

type Sample = { ttfcMs: number; chunkMs: number[] };
type Path = 'direct' | 'gateway';

const stampOf = (text: string): number => Number(/\[(\d+\.\d+)\]$/.exec(text)?.[1] ?? NaN);

const direct = async (sdk: OpenAI): Promise<Sample> => {
  const started = wallClockMs();
  let ttfcMs = NaN;
  const chunkMs: number[] = [];
  const stream = await sdk.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true, max_tokens: 512, stream_options: { include_usage: true } });
  for await (const part of stream) {
    const text = part.choices[0]?.delta?.content;
    if (typeof text !== 'string' || text.length === 0) continue;
    const now = wallClockMs();
    if (Number.isNaN(ttfcMs)) ttfcMs = now - started;
    chunkMs.push(now - stampOf(text));
  }
  return { ttfcMs, chunkMs };
};

const viaGateway = async (client: GatewayClient): Promise<Sample> => {
  const started = wallClockMs();
  let ttfcMs = NaN;
  const chunkMs: number[] = [];
  const answer = client.complete({ provider: 'openai', model: MODEL, messages: MESSAGES, maxTokens: 512 });
  for await (const chunk of answer) {
    const now = wallClockMs();
    if (Number.isNaN(ttfcMs)) ttfcMs = now - started;
    chunkMs.push(now - stampOf(chunk.data));
  }
  await answer.done;
  return { ttfcMs, chunkMs };
};

type Stats = { ttfc: number[]; chunk: number[] };
/** The usage projection's lag inside the gateway process over a phase (sampled every 10 ms). */
type ProjectionLag = { samples: number; events50: number; events99: number; eventsMax: number; ms50: number; ms99: number; msMax: number };
type Result = { concurrency: number; stats: Record<Path, Stats>; gatewayCpuMsPerRequest: number; projectionLag: ProjectionLag };
const summary = (s: Stats) => {
  const ttfc = [...s.ttfc].sort((a, b) => a - b);
  const chunk = [...s.chunk].sort((a, b) => a - b);
  return { ttfc50: percentile(ttfc, 50), ttfc99: percentile(ttfc, 99), chunk50: percentile(chunk, 50), chunk99: percentile(chunk, 99), streams: ttfc.length, chunks: chunk.length };
};

/** Runs the benchmark with options from the command line (process.argv) and prints its tables. */
export const runWsTtfc = async (): Promise<void> => {
  const rounds = arg('rounds', 50);
  const wideRounds = arg('wide-rounds', 10);
  const pinned = process.argv.includes('--pin');
  // Pinned: this process and the fixture share CPU 0, the gateway has CPU 1 to itself, as if on its own machine.
  if (pinned) pinSelf('0');
  const dir = mkdtempSync(join(tmpdir(), 'ws-bench-'));
  const store = process.env['BENCH_STORE'] ?? `sqlite:${join(dir, 'ledger.db')}`;
  const fixture = await spawnTs<{ baseURL: string }>('bench/ws/timedFixture.ts', fixtureEnv);
  const gateway = await spawnTs<{ url: string }>('bench/ws/gatewayProcess.ts', {
    EVENT_STORE: store,
    WS_PORT: '0',
    HOST: '127.0.0.1',
    JWT_SECRET: SECRET,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: fixture.ready.baseURL,
    LOG_LEVEL: 'warn',
    LLM_MAX_CONCURRENT: '512',
    // A busy 2-core machine can take seconds to answer: the bench measures latency, not the breaker.
    LLM_CONNECT_TIMEOUT_MS: '30000',
    LLM_IDLE_TIMEOUT_MS: '30000',
    LLM_MAX_QUEUED: '512',
    RATE_LIMIT_REQUESTS_PER_MIN: '1000000',
    RATE_LIMIT_TOKENS_PER_MIN: '1000000000',
    BENCH_USERS: String(WIDE),
  }, {
    nodeArgs: process.env['BENCH_PROFILE_DIR'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR']}`],
    ...(pinned ? { cpus: '1' } : {}),
  });
  const sdk = new OpenAI({ apiKey: 'test', baseURL: fixture.ready.baseURL, maxRetries: 0 });
  const clients: GatewayClient[] = [];
  for (let i = 0; i < WIDE; i++) clients.push(await connectGateway({ url: gateway.ready.url, token: await mintDevToken(SECRET, `bench-${i}`) }));
  const first = clients[0] as GatewayClient;
  try {
    for (let i = 0; i < 20; i++) await Promise.all([direct(sdk), viaGateway(first)]); // warm-up: JIT, connections, caches
    const results: Result[] = [];
    type Usage = { cpu: { user: number; system: number }; projectionLag: ProjectionLag };
    let lag: ProjectionLag | undefined;
    const cpuMs = async () => {
      const { cpu, projectionLag } = await askStats<Usage>(gateway.process);
      lag = projectionLag;
      return (cpu.user + cpu.system) / 1000;
    };
    for (const [concurrency, n] of [[1, rounds], [WIDE, wideRounds]] as const) {
      const stats: Record<Path, Stats> = { direct: { ttfc: [], chunk: [] }, gateway: { ttfc: [], chunk: [] } };
      const cpuBefore = await cpuMs();
      for (let round = 0; round < n; round++) {
        const order: Path[] = round % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
        for (const path of order) {
          const runs = Array.from({ length: concurrency }, (_, i) => (path === 'direct' ? direct(sdk) : viaGateway(clients[i] as GatewayClient)));
          for (const s of await Promise.all(runs)) {
            stats[path].ttfc.push(s.ttfcMs);
            stats[path].chunk.push(...s.chunkMs);
          }
        }
      }
      // The gateway idles during direct rounds, so its CPU time over the phase is what its requests cost.
      const gatewayCpuMsPerRequest = ((await cpuMs()) - cpuBefore) / stats.gateway.ttfc.length;
      results.push({ concurrency, stats, gatewayCpuMsPerRequest, projectionLag: lag as ProjectionLag });
    }
    report(results, store, pinned);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await gateway.stop();
    await fixture.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

const report = (results: readonly Result[], store: string, pinned: boolean) => {
  const lines = [
    `### WebSocket gateway vs direct SDK (fixture: first byte ${fixtureEnv.FIRST_BYTE_MS} ms, ${fixtureEnv.CHUNKS} chunks every ${fixtureEnv.CHUNK_MS} ms; store ${store.startsWith('sqlite') ? 'SQLite file' : store}; ${pinned ? 'gateway pinned to CPU 1, clients and fixture to CPU 0' : 'no CPU pinning'})`,
    '',
    '| concurrent streams | path | TTFC p50 (ms) | TTFC p99 (ms) | chunk latency p50 (ms) | chunk latency p99 (ms) | streams | chunks |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const json: Record<string, unknown>[] = [];
  for (const { concurrency, stats, gatewayCpuMsPerRequest, projectionLag } of results) {
    const d = summary(stats.direct);
    const g = summary(stats.gateway);
    lines.push(`| ${concurrency} | direct SDK | ${fmt(d.ttfc50)} | ${fmt(d.ttfc99)} | ${fmt(d.chunk50)} | ${fmt(d.chunk99)} | ${d.streams} | ${d.chunks} |`);
    lines.push(`| ${concurrency} | gateway | ${fmt(g.ttfc50)} | ${fmt(g.ttfc99)} | ${fmt(g.chunk50)} | ${fmt(g.chunk99)} | ${g.streams} | ${g.chunks} |`);
    lines.push(`| ${concurrency} | **added** | **${fmt(g.ttfc50 - d.ttfc50)}** | **${fmt(g.ttfc99 - d.ttfc99)}** | **${fmt(g.chunk50 - d.chunk50)}** | **${fmt(g.chunk99 - d.chunk99)}** | | |`);
    json.push({ concurrency, direct: d, gateway: g, gatewayCpuMsPerRequest, projectionLag });
  }
  lines.push('', '| concurrent streams | usage projection lag p50 / p99 / max (events) | oldest unprojected event p50 / p99 / max (ms) | samples |', '|---|---|---|---|');
  for (const { concurrency, projectionLag: l } of results) {
    lines.push(`| ${concurrency} | ${l.events50} / ${l.events99} / ${l.eventsMax} | ${fmt(l.ms50)} / ${fmt(l.ms99)} / ${fmt(l.msMax)} | ${l.samples} |`);
  }
  // Only under load: at one stream the process sleeps between chunks and per-request CPU time is dominated by wake-ups.
  const wide = results.find((r) => r.concurrency === WIDE);
  if (wide !== undefined) lines.push('', `Gateway process CPU time per request at ${WIDE} concurrent streams (its chunks included): ${fmt(wide.gatewayCpuMsPerRequest)} ms.`);
  lines.push('', `Load average at the end (1 min): ${loadavg()[0]?.toFixed(2)} on 2 cores; other work on the machine shows up here and skews the 100-stream rows first.`);
  lines.push('', 'Goal at 100 concurrent streams: p50 added <= 1 ms, p99 added <= 5 ms.');
  process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify({ bench: 'ws-ttfc', results: json })}\n`);
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runWsTtfc();
