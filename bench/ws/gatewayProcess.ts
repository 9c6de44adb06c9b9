import * as E from 'fp-ts/lib/Either.js';
import { buildApp } from '../../adapters/app.js';
import { loadConfig } from '../../adapters/config.js';
import { makeLogger } from '../../adapters/logging.js';
import { reportOpenFiles } from '../../adapters/main.js';
import { openFileLimitReport } from '../../adapters/system/openFileLimit.js';
import { startWsServer } from '../../adapters/ws/server.js';

/**
 * The WebSocket gateway alone, as a child process for the benchmarks: the
 * same buildApp + startWsServer the service runs, configured by env. Grants
 * BENCH_GRANT credits to users bench-0 .. bench-(BENCH_USERS-1), sends
 * { ready: { url } } over IPC, and answers IPC messages: 'stats' (gateway stats and
 * resident memory, and the usage projection's lag sampled every 10 ms since the
 * last 'stats'), and 'close' (graceful close, then exit).
 */
const env = process.env;
const config = loadConfig(env);
const logger = makeLogger(config.LOG_LEVEL);
// As the service does at start-up (adapters/main.ts).
reportOpenFiles(logger, openFileLimitReport());
const app = await buildApp(config, env, logger);
const users = Number(env['BENCH_USERS'] ?? 0);
const grant = Number(env['BENCH_GRANT'] ?? 1_000_000_000);
for (let i = 0; i < users; i++) {
  const granted = await app.ledger.grant({ accountId: `bench-${i}`, grantId: `bench-grant-${i}-${Date.now()}`, amount: grant });
  if (E.isLeft(granted)) throw new Error(`grant failed: ${granted.left._tag}`);
}
const ws = await startWsServer(app);
process.send?.({ ready: { url: ws.url, pid: process.pid } });

// The usage projection runs in this process beside the gateway, as in the service: sample how far it trails.
let lagEvents: number[] = [];
let lagMs: number[] = [];
const sampler = setInterval(() => {
  const status = app.usage.runner.status();
  lagEvents.push(status.lagEvents);
  lagMs.push(status.lagMs);
}, 10);
sampler.unref();
const lagSummary = () => {
  const at = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;
  const summary = { samples: lagEvents.length, events50: at(lagEvents, 50), events99: at(lagEvents, 99), eventsMax: Math.max(0, ...lagEvents), ms50: at(lagMs, 50), ms99: at(lagMs, 99), msMax: Math.max(0, ...lagMs) };
  lagEvents = [];
  lagMs = [];
  return summary;
};

process.on('message', (message: unknown) => {
  if (message === 'stats') {
    const memory = process.memoryUsage();
    process.send?.({ stats: ws.stats(), rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, cpu: process.cpuUsage(), projectionLag: lagSummary() });
  }
  if (message === 'close') {
    clearInterval(sampler);
    void ws
      .close()
      .then(() => app.close())
      .then(() => process.exit(0));
  }
});
