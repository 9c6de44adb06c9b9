import * as E from 'fp-ts/lib/Either.js';
import { buildApp } from '../../adapters/app.js';
import { loadConfig } from '../../adapters/config.js';
import { makeLogger } from '../../adapters/logging.js';
import { startWsServer } from '../../adapters/ws/server.js';

/**
 * The WebSocket gateway alone, as a child process for the benchmarks: the
 * same buildApp + startWsServer the service runs, configured by env. Grants
 * BENCH_GRANT credits to users bench-0 .. bench-(BENCH_USERS-1), sends
 * { ready: { url } } over IPC, and answers IPC messages: 'stats' (gateway stats and
 * resident memory) and 'close' (graceful close, then exit).
 */
const env = process.env;
const config = loadConfig(env);
const logger = makeLogger(config.LOG_LEVEL);
const app = await buildApp(config, env, logger);
const users = Number(env['BENCH_USERS'] ?? 0);
const grant = Number(env['BENCH_GRANT'] ?? 1_000_000_000);
for (let i = 0; i < users; i++) {
  const granted = await app.ledger.grant({ accountId: `bench-${i}`, grantId: `bench-grant-${i}-${Date.now()}`, amount: grant });
  if (E.isLeft(granted)) throw new Error(`grant failed: ${granted.left._tag}`);
}
const ws = await startWsServer(app);
process.send?.({ ready: { url: ws.url, pid: process.pid } });

process.on('message', (message: unknown) => {
  if (message === 'stats') process.send?.({ stats: ws.stats(), rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed, cpu: process.cpuUsage() });
  if (message === 'close') {
    void ws
      .close()
      .then(() => app.close())
      .then(() => process.exit(0));
  }
});
