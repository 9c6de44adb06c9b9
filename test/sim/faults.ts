import { spawn } from 'node:child_process';
import type { PostgresInstance } from '../support/postgresInstance.js';
import { repoRoot } from './processes.js';

/**
 * Store outages. PostgreSQL: the simulation's own server is stopped by its
 * postmaster pid and started again. SQLite has no server to stop, so another
 * process takes the write lock (`BEGIN IMMEDIATE`) and keeps it: every writer
 * waits out its busy timeout and fails, as on a disk that stopped answering.
 */
export type StoreOutage = (durationMs: number) => Promise<{ readonly startedAt: number; readonly endedAt: number }>;

const LOCK_SCRIPT = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 30000');
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
setTimeout(() => { db.exec('ROLLBACK'); db.close(); process.exit(0); }, Number(process.argv[2]));
`;

export const sqliteLockOutage =
  (path: string): StoreOutage =>
  async (durationMs) => {
    const child = spawn(process.execPath, ['-e', LOCK_SCRIPT, path, String(durationMs)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const startedAt = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', () => resolve(Date.now()));
      child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before locking: ${err}`)));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const guard = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), durationMs + 30_000);
    await exited;
    clearTimeout(guard);
    return { startedAt, endedAt: Date.now() };
  };

export const postgresOutage =
  (server: PostgresInstance): StoreOutage =>
  async (durationMs) => {
    const startedAt = Date.now();
    await server.stop();
    const rest = durationMs - (Date.now() - startedAt);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    await server.start();
    return { startedAt, endedAt: Date.now() };
  };
