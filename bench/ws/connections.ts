import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { askStats, spawnTs } from './spawnTs.js';
import type { Child } from './spawnTs.js';
import { numberArg } from '../shared.js';

/**
 * Concurrent idle WebSocket connections held by one gateway process, with the
 * heartbeat running, and the gateway's resident memory. Two client processes
 * open the sockets (each process has its own file-descriptor limit); the
 * gateway pings every socket every WS_HEARTBEAT_MS and must drop none.
 *
 * Run: node --import ./test/support/swcRegister.mjs bench/ws/connections.ts [--connections 20000] [--hold-s 12] [--heartbeat-ms 5000]
 * The gateway needs one descriptor per socket plus a few dozen. Run as root,
 * the bench raises the gateway's hard limit to 65,536 and opens 20,000;
 * otherwise the limit it inherited is printed and the default stays below it
 * (19,900). Each client process holds half the sockets.
 */
const arg = numberArg;

const SECRET = 'bench-secret-'.padEnd(48, 'x');
const PER_USER = 100;
const WORKERS = 2;
const GATEWAY_FILES = 65_536;

type GatewayStats = { stats: { connections: number; totals: { heartbeatTimeouts: number; refusedUpgrades: number } }; rssBytes: number; heapUsedBytes: number };
type ClientStats = { stats: { open: number; closedByServer: number } };

const fdLimit = (): string => {
  try {
    return execFileSync('bash', ['-c', 'echo "$(ulimit -Sn) soft, $(ulimit -Hn) hard"']).toString().trim();
  } catch {
    return 'unknown';
  }
};

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Runs the benchmark with options from the command line (process.argv) and prints its tables. */
export const runWsConnections = async (): Promise<void> => {
  const wanted = process.argv.some((a) => a === '--connections' || a.startsWith('--connections=')) ? arg('connections', 20_000) : undefined;
  const holdS = arg('hold-s', 12);
  const heartbeatMs = arg('heartbeat-ms', 5_000);
  const gateway = await spawnTs<{ url: string; pid: number }>('bench/ws/gatewayProcess.ts', {
    EVENT_STORE: 'memory:',
    WS_PORT: '0',
    HOST: '127.0.0.1',
    JWT_SECRET: SECRET,
    LOG_LEVEL: 'warn',
    WS_HEARTBEAT_MS: String(heartbeatMs),
    WS_MAX_CONNECTIONS_PER_USER: String(PER_USER),
  });
  // The gateway needs a descriptor per socket plus its own: as root the bench raises the gateway's hard
  // limit (prlimit on its pid, what an operator does with LimitNOFILE=); otherwise it keeps what it inherited.
  let limitNote = `fd limit ${fdLimit()}`;
  let raised = false;
  if (process.getuid?.() === 0) {
    try {
      execFileSync('prlimit', ['--pid', String(gateway.ready.pid), `--nofile=${GATEWAY_FILES}:${GATEWAY_FILES}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      limitNote = `gateway fd limit raised to ${GATEWAY_FILES} (root, prlimit); clients ${fdLimit()}`;
      raised = true;
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      limitNote += ` (raising the gateway's hard limit was refused: ${stderr || (error as Error).message.split('\n')[0]})`;
    }
  }
  // Without a raised limit the gateway keeps 100 descriptors for itself (store, listeners, /proc reads).
  const target = wanted ?? (raised ? 20_000 : 19_900);
  const users = Math.ceil(target / PER_USER);
  type Opened = { opened: number; failed: number; failures: Record<string, number>; elapsedMs: number };
  let workers: Child<Opened>[] = [];
  try {
    const baseline = await askStats<GatewayStats>(gateway.process);
    const startedMs = performance.now();
    const share = Math.ceil(users / WORKERS);
    workers = await Promise.all(
      Array.from({ length: WORKERS }, (_, w) =>
        spawnTs<Opened>('bench/ws/idleClients.ts', {
          URL: gateway.ready.url,
          SECRET,
          FIRST_USER: String(w * share),
          USERS: String(Math.min(share, users - w * share)),
          PER_USER: String(Math.min(PER_USER, Math.ceil(target / users))),
          CONCURRENCY: '256',
        }),
      ),
    );
    const ready = workers;
    const connectMs = performance.now() - startedMs;
    const opened = ready.reduce((n, w) => n + w.ready.opened, 0);
    const failed = ready.reduce((n, w) => n + w.ready.failed, 0);
    const afterConnect = await askStats<GatewayStats>(gateway.process);
    let peakRss = afterConnect.rssBytes;
    const holdUntil = performance.now() + holdS * 1000;
    while (performance.now() < holdUntil) {
      await new Promise((r) => setTimeout(r, 1000));
      peakRss = Math.max(peakRss, (await askStats<GatewayStats>(gateway.process)).rssBytes);
    }
    const afterHold = await askStats<GatewayStats>(gateway.process);
    const clients = await Promise.all(ready.map((w) => askStats<ClientStats>(w.process)));
    const stillOpen = clients.reduce((n, c) => n + c.stats.open, 0);
    const closedByServer = clients.reduce((n, c) => n + c.stats.closedByServer, 0);
    const perConnKiB = ((afterHold.rssBytes - baseline.rssBytes) / Math.max(1, afterHold.stats.connections) / 1024).toFixed(1);
    const lines = [
      `### Idle WebSocket connections held by one gateway process (heartbeat every ${heartbeatMs} ms, held ${holdS} s; ${limitNote})`,
      '',
      '| connections open (gateway) | opened by clients | failed | connect time (s) | RSS before (MiB) | RSS after connect (MiB) | RSS peak while held (MiB) | RSS per connection (KiB) | heartbeat timeouts | closed by server | still open at end |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      `| ${afterHold.stats.connections} | ${opened} | ${failed} | ${(connectMs / 1000).toFixed(1)} | ${mib(baseline.rssBytes)} | ${mib(afterConnect.rssBytes)} | ${mib(peakRss)} | ${perConnKiB} | ${afterHold.stats.totals.heartbeatTimeouts} | ${closedByServer} | ${stillOpen} |`,
      '',
      'Goal: >= 20,000 connections under 1 GiB.',
    ];
    if (failed > 0) lines.push('', `Failures: ${JSON.stringify(ready.map((w) => w.ready.failures))}`);
    process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify({ bench: 'ws-connections', connections: afterHold.stats.connections, rssBytes: afterHold.rssBytes, peakRssBytes: peakRss, baselineRssBytes: baseline.rssBytes, connectMs, heartbeatTimeouts: afterHold.stats.totals.heartbeatTimeouts })}\n`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await gateway.stop();
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runWsConnections();
