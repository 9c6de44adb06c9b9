import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every bad set-up, on the compiled service (node dist/adapters/main.js): one
 * line on stderr naming the variable or path and the cause, exit code 1, no
 * stack unless LOG_LEVEL=debug, and never a secret on either stream.
 * `npm run build` first.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const entry = join(root, 'dist/adapters/main.js');

type Run = { code: number | null; stdout: string; stderr: string; ms: number };

const start = (env: Record<string, string>, opts: { stopWhenStarted?: boolean } = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const began = Date.now();
    const base = { PATH: process.env['PATH'] ?? '', HOME: dir, HOST: '127.0.0.1', PORT: '0', WS_PORT: '0', EVENT_STORE: 'memory:', JWT_SECRET: 'x'.repeat(40) };
    const child = spawn(process.execPath, [entry], { cwd: dir, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.stopWhenStarted !== true || stopping || !stdout.includes('credit ledger gateway started')) return;
      // The signal handlers are installed just after that line is written.
      stopping = true;
      setTimeout(() => child.kill('SIGTERM'), 500);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit in 40 s; stdout ${stdout} stderr ${stderr}`));
    }, 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - began });
    });
  });

const expectOneLine = (run: Run, pattern: RegExp) => {
  expect(run.code).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
};

/** A TCP server that accepts connections and never says a word: a hung database. */
const silentServer = async (): Promise<{ port: number; close: () => Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
};

/** A port nothing listens on. */
const closedPort = async (): Promise<number> => {
  const s = await silentServer();
  await s.close();
  return s.port;
};

let dir: string;
beforeAll(() => {
  if (!existsSync(entry)) throw new Error('dist/ is missing: run "npm run build"');
  dir = mkdtempSync(join(tmpdir(), 'startup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('start-up failures of the compiled service', () => {
  it('production refuses to start without its keys, one line each, printing no secret', async () => {
    const run = await start({ NODE_ENV: 'production', JWT_SECRET: '' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production');
    expect(run.stderr).toContain('PUBLIC_URL is required when NODE_ENV=production');
    expect(run.stderr).toContain('LEDGER_SIGNING_KEY_FILE is required when NODE_ENV=production');
    expect(run.stdout).not.toMatch(/secret/i);
  });

  it('port in use names PORT, WS_PORT in use names WS_PORT', async () => {
    const busy = await silentServer();
    try {
      expectOneLine(await start({ PORT: String(busy.port) }), new RegExp(`^PORT ${busy.port}: 127\\.0\\.0\\.1:${busy.port} is already in use`));
      expectOneLine(await start({ WS_PORT: String(busy.port) }), new RegExp(`^WS_PORT ${busy.port}: .* is already in use`));
    } finally {
      await busy.close();
    }
  });

  it('a data directory that cannot be written is named with its path', async () => {
    // Root ignores permission bits, so the directory is made impossible instead: its parent is a file.
    writeFileSync(join(dir, 'a-file'), 'not a directory');
    const path = join(dir, 'a-file', 'data');
    expectOneLine(await start({ EVENT_STORE: `sqlite:${path}/ledger.db` }), new RegExp(`^EVENT_STORE sqlite:.*: data directory ${path} is not writable \\((ENOTDIR|EEXIST|EACCES)`));
  });

  it('sqlite: without a path names EVENT_STORE', async () => {
    const run = await start({ EVENT_STORE: 'sqlite:' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('EVENT_STORE sqlite: needs a file path');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('PostgreSQL refusing connections, and one that never answers (timeout), name EVENT_STORE without its password', async () => {
    const port = await closedPort();
    expectOneLine(await start({ EVENT_STORE: `postgres://ledger:pg-password-1@127.0.0.1:${port}/ledger` }), new RegExp(`^EVENT_STORE postgres://ledger:\\*\\*\\*@127\\.0\\.0\\.1:${port}/ledger: cannot connect: .*ECONNREFUSED`));
    const hung = await silentServer();
    try {
      const run = await start({ EVENT_STORE: `postgres://ledger@127.0.0.1:${hung.port}/ledger`, STORE_CONNECT_TIMEOUT_MS: '1500' });
      expectOneLine(run, /^EVENT_STORE postgres:.*: server not reachable within 1500 ms \(STORE_CONNECT_TIMEOUT_MS\)$/);
      expect(run.ms).toBeLessThan(20_000);
    } finally {
      await hung.close();
    }
  });

  it('ESDB/KurrentDB refusing connections, and one that never answers (timeout)', async () => {
    const port = await closedPort();
    expectOneLine(await start({ EVENT_STORE: `esdb://127.0.0.1:${port}?tls=false`, STORE_CONNECT_TIMEOUT_MS: '5000' }), /^EVENT_STORE esdb:.*: (cannot connect: .*UNAVAILABLE|server not reachable)/);
    const hung = await silentServer();
    try {
      const run = await start({ EVENT_STORE: `kurrentdb://127.0.0.1:${hung.port}?tls=false`, STORE_CONNECT_TIMEOUT_MS: '1500' });
      expectOneLine(run, /^EVENT_STORE kurrentdb:.*: (server not reachable within 1500 ms|cannot connect)/);
      expect(run.ms).toBeLessThan(20_000);
    } finally {
      await hung.close();
    }
  });

  it('Redis that never answers names REDIS_URL after the timeout', async () => {
    const hung = await silentServer();
    try {
      expectOneLine(await start({ REDIS_URL: `redis://127.0.0.1:${hung.port}`, STORE_CONNECT_TIMEOUT_MS: '1500' }), /^REDIS_URL redis:.*: not reachable within 1500 ms/);
    } finally {
      await hung.close();
    }
  });

  it('LOG_LEVEL=debug adds the stack', async () => {
    const run = await start({ EVENT_STORE: `postgres://ledger@127.0.0.1:${await closedPort()}/ledger`, LOG_LEVEL: 'debug' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^\s+at /m);
  });
});

describe('the development secret', () => {
  it('goes to a file of mode 0600 whose path is printed, never to the log; a failed run says nothing of it', async () => {
    const data = join(dir, 'dev-data');
    const ok = await start({ JWT_SECRET: '', EVENT_STORE: `sqlite:${data}/ledger.db` }, { stopWhenStarted: true });
    expect(ok.code).toBe(0);
    const file = join(data, 'dev-jwt-secret');
    const secret = readFileSync(file, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(ok.stdout).toContain(file);
    expect(ok.stdout + ok.stderr).not.toContain(secret);

    const busy = await silentServer();
    try {
      const failed = await start({ JWT_SECRET: '', EVENT_STORE: `sqlite:${data}/ledger.db`, PORT: String(busy.port) });
      expect(failed.code).toBe(1);
      expect(failed.stdout + failed.stderr).not.toMatch(/secret/i);
    } finally {
      await busy.close();
    }
  });
});
