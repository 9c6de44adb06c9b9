import { WebSocket } from 'ws';
import { mintDevToken } from '../../adapters/auth/jwtMint.js';

/**
 * A child process holding many idle WebSocket connections to the gateway
 * (bench/ws/connections.ts starts two of these). Env: URL, SECRET, FIRST_USER,
 * USERS, PER_USER, CONCURRENCY. Sends { ready: { opened, failed } } once every
 * socket has opened or failed; answers 'stats' with how many are still open
 * and how many the server closed; 'close' closes them all and exits.
 */
const env = process.env;
const url = String(env['URL']);
const secret = String(env['SECRET']);
const firstUser = Number(env['FIRST_USER']);
const users = Number(env['USERS']);
const perUser = Number(env['PER_USER']);
const concurrency = Number(env['CONCURRENCY'] ?? 256);

const sockets: WebSocket[] = [];
let failed = 0;
let closedByServer = 0;
let closing = false;
const failures = new Map<string, number>();

const open = (token: string) =>
  new Promise<void>((resolve) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.once('open', () => {
      sockets.push(ws);
      resolve();
    });
    ws.once('error', (error: Error) => {
      failed += 1;
      failures.set(error.message, (failures.get(error.message) ?? 0) + 1);
      resolve();
    });
    ws.on('close', () => {
      if (!closing) closedByServer += 1;
    });
  });

const jobs: (() => Promise<void>)[] = [];
for (let u = firstUser; u < firstUser + users; u++) {
  const token = await mintDevToken(secret, `idle-${u}`, { expiresInS: 3600 });
  for (let i = 0; i < perUser; i++) jobs.push(() => open(token));
}
let next = 0;
const startedMs = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
  }),
);
process.send?.({ ready: { opened: sockets.length, failed, failures: Object.fromEntries(failures), elapsedMs: performance.now() - startedMs } });

process.on('message', (message: unknown) => {
  if (message === 'stats') {
    const open = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
    process.send?.({ stats: { open, closedByServer } });
  }
  if (message === 'close') {
    closing = true;
    for (const s of sockets) s.terminate();
    setTimeout(() => process.exit(0), 200);
  }
});
