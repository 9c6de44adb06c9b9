import * as E from 'fp-ts/lib/Either.js';
import { buildApp } from '../../adapters/app.js';
import { loadConfig } from '../../adapters/config.js';
import { startHttpServer } from '../../adapters/http/server.js';
import { makeLogger } from '../../adapters/logging.js';
import { startWsServer } from '../../adapters/ws/server.js';

/**
 * The service with both ports (WebSocket and REST), as a child process for the
 * compatible-API benchmark. Grants credits to bench-0 .. bench-(BENCH_USERS-1),
 * creates one API key per user (no limit, so every request takes a key hold
 * and settles it, the full key path), and sends { ready: { wsUrl, httpUrl, secrets } }.
 * 'stats' answers CPU usage; 'close' shuts down.
 */
const env = process.env;
const config = loadConfig(env);
const app = await buildApp(config, env, makeLogger(config.LOG_LEVEL));
const users = Number(env['BENCH_USERS'] ?? 1);
const secrets: string[] = [];
for (let i = 0; i < users; i++) {
  const granted = await app.ledger.grant({ accountId: `bench-${i}`, grantId: `bench-grant-${i}-${Date.now()}`, amount: 1_000_000_000 });
  if (E.isLeft(granted)) throw new Error(`grant failed: ${granted.left._tag}`);
  const key = await app.keys.create({ accountId: `bench-${i}`, limit: { credits: 1_000_000_000, period: 'month' } });
  if (E.isLeft(key)) throw new Error(`key failed: ${key.left._tag}`);
  secrets.push(key.right.secret);
}
const ws = await startWsServer(app);
const http = await startHttpServer(app, { port: 0 });
process.send?.({ ready: { wsUrl: ws.url, httpUrl: http.url, secrets, pid: process.pid } });

process.on('message', (message: unknown) => {
  if (message === 'stats') process.send?.({ stats: ws.stats(), cpu: process.cpuUsage() });
  if (message === 'close') {
    void http
      .stop()
      .then(() => ws.close())
      .then(() => app.close())
      .then(() => process.exit(0));
  }
});
