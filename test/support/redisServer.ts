import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/**
 * A throwaway redis-server for fault tests: started on a free port, stopped by
 * its own pid (never by name, so other servers on the machine are untouched),
 * restarted on the same port. No persistence, bound to 127.0.0.1.
 */
export type RedisServer = {
  readonly port: number;
  readonly url: string;
  /** The pid of the running server, or undefined while stopped. */
  readonly pid: () => number | undefined;
  /** Kills the server by pid and waits for the process to exit. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  readonly start: () => Promise<void>;
};

const binary = process.env['REDIS_SERVER_BIN'] ?? 'redis-server';

/** True when `redis-server` can be run here (tests skip, or fail under CI, otherwise). */
export const redisServerAvailable = (): boolean => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/** One raw PING over TCP; true on "+PONG". */
const ping = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });

const waitUntil = async (predicate: () => Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

export const startRedisServer = async (options: { port?: number } = {}): Promise<RedisServer> => {
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child !== undefined) throw new Error('redis-server already running');
    const proc = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    await waitUntil(() => ping(port), 5000, `redis-server on port ${port}`);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child;
    if (proc === undefined || proc.pid === undefined) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid, signal);
    await exited;
    child = undefined;
  };

  await start();
  return { port, url: `redis://127.0.0.1:${port}`, pid: () => child?.pid, stop, start };
};
