import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private PostgreSQL server for tests that need to take the store down: its
 * own data directory (initdb into a temp dir), its own port, started and
 * stopped by its own postmaster pid. The shared server on 5432 is never
 * touched. initdb and postgres refuse to run as root, so as root they run as
 * the `postgres` user through runuser.
 */
export type PostgresInstance = {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** The postmaster's pid while it runs. */
  readonly pid: () => number | undefined;
  /** Fast shutdown by pid (SIGINT): every connection is cut. Resolves when the process is gone. */
  readonly stop: () => Promise<void>;
  /** Starts the server again on the same port and data directory. */
  readonly start: () => Promise<void>;
  /** Stops it and removes the data directory. */
  readonly destroy: () => Promise<void>;
};

const binDirs = (): string[] => {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(base, v, 'bin'))
    .filter((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
};

/** The directory holding initdb/pg_ctl, or undefined when PostgreSQL is not installed here. */
export const postgresBinaries = (): string | undefined => binDirs()[0];

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** argv that runs a PostgreSQL binary as a non-root user. */
const asPostgres = (bin: string, args: readonly string[]): [string, string[]] =>
  isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, [...args]];

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

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const startPostgresInstance = async (): Promise<PostgresInstance> => {
  const bin = postgresBinaries();
  if (bin === undefined) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/*/bin');
  const dir = mkdtempSync(join(tmpdir(), 'sim-pg-'));
  const data = join(dir, 'data');
  if (isRoot()) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  chmodSync(dir, 0o700);
  const [initCmd, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  let pid: number | undefined;

  const start = async () => {
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    const [cmd, args] = asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`pg_ctl start failed (${code}): ${err}`);
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  };

  const stop = async () => {
    const current = pid;
    if (current === undefined) return;
    try {
      process.kill(current, 'SIGINT');
    } catch {
      // already gone
    }
    const deadline = Date.now() + 30_000;
    while (alive(current) && Date.now() < deadline) await sleep(50);
    if (alive(current)) process.kill(current, 'SIGKILL');
    pid = undefined;
  };

  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid: () => pid,
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
