import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machine } from '../shared.js';
import { askStats, fmt, percentile } from '../ws/spawnTs.js';
import { wallClockMs } from '../ws/timedFixture.js';
import type { Outcome, PathName, Paths } from './peerPaths.js';
import { startPaths } from './peerPaths.js';
import { PORTKEY_PATCH } from './portkeyProcess.js';
import { clockTick, processCpuMs } from './procCpu.js';
import { mainThreadProfile, readProfile, summarize as summarizeProfile } from './profileSummary.js';

/**
 * Side by side with a peer (issue 17): one run, one SSE fixture in the OpenAI
 * chat-completions wire format (bench/ws/timedFixture.ts), four paths to it,
 * the official `openai` SDK as the client wherever the path speaks HTTP:
 * direct (the ceiling), our WebSocket gateway, our OpenAI-compatible HTTP API
 * (JWT), and Portkey's open-source gateway 1.15.2 (patched copy, see
 * portkeyProcess.ts). Our gateways run the real app on a SQLite store
 * (synchronous FULL) in a temp dir, each in its own process.
 *
 * At each concurrency every path serves the same number of requests, in
 * rounds that alternate the order of the paths (so drift hits all alike);
 * a round is a closed loop of `concurrency` workers. Per path: TTFC p50/p99
 * (first non-empty text), completed streams/s over its own rounds, and the
 * CPU time of its gateway process over its own rounds (/proc utime+stime)
 * divided by its requests. A stream counts as completed when its whole text
 * arrived (and, over WebSocket, the settled done frame). Before the load,
 * each gateway's CPU with no traffic (ms per s) is measured once.
 *
 * Run: npm run bench -- peer, or node --import ./test/support/swcRegister.mjs bench/peer/sideBySide.ts
 *        [--requests 1000] [--single-requests 200] [--rounds 10] [--concurrency 1,10,50] [--small]
 *      ... sideBySide.ts --profile DIR [--profile-path http] [--concurrency 10]
 *                                        (only our WebSocket gateway, or the HTTP API, under --cpu-prof)
 *      ... sideBySide.ts --paths direct,http (jwt),...   (only these paths)
 *      ... sideBySide.ts --before DIR    (adds 'websocket (before)' and 'http (jwt) (before)': the gateways of another checkout,
 *                                         e.g. `git worktree add DIR <commit>` with node_modules, same run)
 * Env: FIRST_BYTE_MS (20), CHUNKS (20), CHUNK_MS (2).
 * --small: 50 requests per path at 1 and 10 streams (CI, test/e2e/bench/peerBench.e2e.test.ts).
 */
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (name: string, fallback: number): number => {
  const v = Number(flag(name));
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const small = argv.includes('--small');
const fixtureEnv = { FIRST_BYTE_MS: process.env['FIRST_BYTE_MS'] ?? '20', CHUNKS: process.env['CHUNKS'] ?? '20', CHUNK_MS: process.env['CHUNK_MS'] ?? '2' };

type PathStats = { requests: number; completed: number; errors: string[]; ttfc: number[]; wallMs: number; cpuMs: number; ipcCpuMs: number };
type Level = { concurrency: number; stats: Record<PathName, PathStats> };

/** A closed loop: `concurrency` workers take requests until `n` have started. */
const batch = async (paths: Paths, path: PathName, concurrency: number, n: number): Promise<Outcome[]> => {
  const outcomes: Outcome[] = [];
  let started = 0;
  const worker = async (w: number) => {
    while (started < n) {
      started++;
      outcomes.push(await paths.once(path, w));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, (_, w) => worker(w)));
  return outcomes;
};

const ipcCpuMs = async (paths: Paths, path: PathName): Promise<number> => {
  const ipc = paths.gateways[path]?.ipc;
  if (ipc === undefined) return 0;
  const { cpu } = await askStats<{ cpu: { user: number; system: number } }>(ipc);
  return (cpu.user + cpu.system) / 1000;
};

/** One path's share of a round: its gateway's CPU read around it, nothing else running. */
const measured = async (paths: Paths, path: PathName, concurrency: number, n: number, into: PathStats) => {
  const pid = paths.gateways[path]?.pid;
  const ipcBefore = await ipcCpuMs(paths, path);
  const cpuBefore = pid === undefined ? 0 : processCpuMs(pid);
  const started = wallClockMs();
  const outcomes = await batch(paths, path, concurrency, n);
  into.wallMs += wallClockMs() - started;
  if (pid !== undefined) into.cpuMs += processCpuMs(pid) - cpuBefore;
  into.ipcCpuMs += (await ipcCpuMs(paths, path)) - ipcBefore;
  for (const o of outcomes) {
    into.requests++;
    if (o.complete) into.completed++;
    if (Number.isFinite(o.ttfcMs)) into.ttfc.push(o.ttfcMs);
    if (o.error !== undefined && into.errors.length < 5) into.errors.push(o.error);
  }
};

const runLevel = async (paths: Paths, concurrency: number, requests: number, rounds: number): Promise<Level> => {
  const empty = (): PathStats => ({ requests: 0, completed: 0, errors: [], ttfc: [], wallMs: 0, cpuMs: 0, ipcCpuMs: 0 });
  const stats = Object.fromEntries(paths.names.map((p) => [p, empty()])) as Record<PathName, PathStats>;
  // Each round's share keeps every worker busy for a while (at least 4 requests each), so the drain at its end stays small.
  const roundCount = Math.max(1, Math.min(rounds, Math.floor(requests / (4 * concurrency))));
  for (let round = 0; round < roundCount; round++) {
    const n = Math.floor((requests * (round + 1)) / roundCount) - Math.floor((requests * round) / roundCount);
    const order = round % 2 === 0 ? paths.names : [...paths.names].reverse();
    for (const path of order) await measured(paths, path, concurrency, n, stats[path]);
    process.stderr.write(`peer: ${concurrency} streams, round ${round + 1}/${roundCount}\n`);
  }
  return { concurrency, stats };
};

const summarize = (s: PathStats) => {
  const sorted = [...s.ttfc].sort((a, b) => a - b);
  return {
    requests: s.requests,
    completed: s.completed,
    ttfc50: percentile(sorted, 50),
    ttfc99: percentile(sorted, 99),
    streamsPerS: (s.completed * 1000) / s.wallMs,
    cpuMsPerRequest: s.requests > 0 ? s.cpuMs / s.requests : NaN,
    ipcCpuMsPerRequest: s.requests > 0 ? s.ipcCpuMs / s.requests : NaN,
    errors: s.errors,
  };
};

/** CPU each gateway burns with no traffic at all (timers, pollers), in ms per second of wall time. */
const idleCpu = async (paths: Paths, ms: number): Promise<Partial<Record<PathName, number>>> => {
  const gateways = paths.names.filter((p) => paths.gateways[p] !== undefined);
  const before = gateways.map((p) => processCpuMs(paths.gateways[p]?.pid as number));
  await new Promise((r) => setTimeout(r, ms));
  return Object.fromEntries(gateways.map((p, i) => [p, ((processCpuMs(paths.gateways[p]?.pid as number) - (before[i] as number)) * 1000) / ms]));
};

const report = (levels: readonly Level[], idle: Partial<Record<PathName, number>>) => {
  const lines = [
    `### Side by side: direct SDK, our WebSocket gateway, our HTTP API, Portkey (fixture: first chunk after ${fixtureEnv.FIRST_BYTE_MS} ms, ${fixtureEnv.CHUNKS} chunks every ${fixtureEnv.CHUNK_MS} ms; our store: SQLite file, synchronous FULL)`,
    '',
    `Machine: ${machine()}.`,
    '',
    '| streams | path | TTFC p50 (ms) | TTFC p99 (ms) | added p50 / p99 vs direct (ms) | completed streams/s | vs Portkey | gateway CPU per request (ms) | completed / requests |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const json: Record<string, unknown>[] = [];
  for (const { concurrency, stats } of levels) {
    const d = summarize(stats.direct);
    // Portkey's row is there unless --paths left it out.
    const portkeyStats = stats.portkey as PathStats | undefined;
    const pk = portkeyStats === undefined ? undefined : summarize(portkeyStats);
    for (const path of Object.keys(stats) as PathName[]) {
      const s = summarize(stats[path]);
      const added = path === 'direct' ? '(ceiling)' : `${fmt(s.ttfc50 - d.ttfc50)} / ${fmt(s.ttfc99 - d.ttfc99)}`;
      const vsPortkey = path === 'direct' || path === 'portkey' || pk === undefined ? '' : `${(s.streamsPerS / pk.streamsPerS).toFixed(2)}x`;
      const cpu = path === 'direct' ? '' : fmt(s.cpuMsPerRequest);
      lines.push(`| ${concurrency} | ${path} | ${fmt(s.ttfc50)} | ${fmt(s.ttfc99)} | ${added} | ${s.streamsPerS.toFixed(1)} | ${vsPortkey} | ${cpu} | ${s.completed} / ${s.requests} |`);
      json.push({ concurrency, path, ...s });
    }
  }
  const failures = json.filter((r) => (r['errors'] as string[]).length > 0).map((r) => `${String(r['concurrency'])} streams, ${String(r['path'])}: ${(r['errors'] as string[]).join('; ')}`);
  if (failures.length > 0) lines.push('', 'First failures:', ...failures.map((f) => `- ${f}`));
  lines.push(
    '',
    `Gateway CPU: utime+stime of the gateway's process (all threads) from /proc/<pid>/stat (clock tick 1/${clockTick()} s) around its own rounds, divided by their requests; the fixture's and the clients' CPU is not in it. Throughput: a closed loop of as many workers as streams, so it also falls when a gateway adds latency.`,
    `Idle gateway CPU, no traffic (ms per s): ${Object.entries(idle).map(([p, v]) => `${p} ${v.toFixed(1)}`).join(', ')}; it is inside the per-request figures, most at 1 stream.`,
    `Portkey: ${PORTKEY_PATCH}`,
    `Load average at the end (1 / 5 / 15 min): ${loadavg().map((l) => l.toFixed(2)).join(' / ')} on 2 cores; this process, the fixture and the gateways share them.`,
    '',
    'Targets (issue 17): gateway CPU per metered request <= 0.3 ms; added TTFC p50 <= 1 ms at 10 streams and <= 3 ms at 50; completed streams/s >= 2x Portkey\'s.',
  );
  process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify({ bench: 'peer', fixture: fixtureEnv, loadavg: loadavg(), idleCpuMsPerS: idle, results: json })}\n`);
};

const warmUp = async (paths: Paths, only: readonly PathName[], n: number) => {
  for (const path of only) await batch(paths, path, Math.min(10, n), n);
};

/** One of our gateways (WebSocket by default, or the HTTP API), under --cpu-prof, at `concurrency` streams; prints what its main thread spends CPU on. */
const runProfile = async (dir: string, requests: number, path: 'websocket' | 'http (jwt)', concurrency: number) => {
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'peer-prof-'));
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`];
  const paths = await startPaths({ dir: tmp, fixtureEnv, workers: concurrency, only: [path], ...(path === 'websocket' ? { wsNodeArgs: nodeArgs } : { httpNodeArgs: nodeArgs }) });
  const pid = paths.gateways[path]?.pid as number;
  let stopped = false;
  try {
    await warmUp(paths, [path], 100);
    const stats: PathStats = { requests: 0, completed: 0, errors: [], ttfc: [], wallMs: 0, cpuMs: 0, ipcCpuMs: 0 };
    const started = wallClockMs();
    await measured(paths, path, concurrency, requests, stats);
    await paths.stop(); // the profile is written as the gateway exits
    stopped = true;
    // The load and the shutdown after it; start-up and warm-up are left out.
    const windowMs = wallClockMs() - started;
    const s = summarize(stats);
    const file = mainThreadProfile(resolve(dir), pid);
    process.stdout.write(
      [
        `### Where our ${path === 'websocket' ? 'WebSocket gateway' : 'HTTP API'}'s CPU goes (${s.completed} / ${s.requests} streams at ${concurrency} concurrent, fixture: first chunk after ${fixtureEnv.FIRST_BYTE_MS} ms, ${fixtureEnv.CHUNKS} chunks every ${fixtureEnv.CHUNK_MS} ms)`,
        '',
        `Profile: ${file}. Gateway process CPU per request under the profiler (all threads, /proc): ${fmt(s.cpuMsPerRequest)} ms; the SQLite writer thread is not in the main-thread profile.`,
        '',
        summarizeProfile(readProfile(file), 20, windowMs),
        '',
      ].join('\n'),
    );
  } finally {
    if (!stopped) await paths.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
};

export const runSideBySide = async (): Promise<void> => {
  const profileDir = flag('profile');
  if (profileDir !== undefined) return runProfile(profileDir, num('requests', 1000), flag('profile-path') === 'http' ? 'http (jwt)' : 'websocket', num('concurrency', 10));
  const levels = (flag('concurrency') ?? (small ? '1,10' : '1,10,50')).split(',').map(Number);
  const requests = num('requests', small ? 50 : 1000);
  const single = num('single-requests', small ? 50 : 200);
  const rounds = num('rounds', small ? 2 : 10);
  const dir = mkdtempSync(join(tmpdir(), 'peer-bench-'));
  const beforeDir = flag('before');
  const only = flag('paths')?.split(',') as PathName[] | undefined;
  const paths = await startPaths({
    dir,
    fixtureEnv,
    workers: Math.max(...levels),
    ...(beforeDir === undefined ? {} : { beforeDir: resolve(beforeDir) }),
    ...(only === undefined ? {} : { only }),
  });
  try {
    await warmUp(paths, paths.names, small ? 10 : 40); // JIT, connection pools, caches
    const idle = await idleCpu(paths, small ? 1_000 : 5_000);
    const results: Level[] = [];
    for (const c of levels) results.push(await runLevel(paths, c, c === 1 ? single : requests, rounds));
    report(results, idle);
  } finally {
    await paths.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runSideBySide();
