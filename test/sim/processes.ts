import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The simulation drives the service as a user runs it: the compiled service
 * (`node dist/adapters/main.js`) in child processes and the `ledger` binary.
 * Nothing here imports the service's internals.
 */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const serviceEntry = join(repoRoot, 'dist/adapters/main.js');
const ledgerBin = join(repoRoot, 'bin/ledger.js');

export const assertBuilt = () => {
  if (!existsSync(serviceEntry)) throw new Error('dist/ is missing: run "npm run build" before the simulation');
};

export type Instance = {
  readonly name: string;
  readonly rest: () => string;
  readonly websocket: () => string;
  readonly alive: () => boolean;
  readonly pid: () => number | undefined;
  /** Spawns the service and waits for its start line. */
  readonly start: () => Promise<void>;
  /** SIGKILL by pid: no shutdown, in-flight streams die with it. */
  readonly kill: () => Promise<void>;
  /** SIGTERM and wait: the service settles in-flight requests; resolves with the exit code. */
  readonly stop: (timeoutMs?: number) => Promise<number | null>;
  readonly starts: () => number;
  /** Exits nobody asked for (not kill, not stop): a crash of the service. */
  readonly crashes: () => readonly { readonly at: number; readonly code: number | null; readonly signal: string | null }[];
};

const waitExit = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

export const makeInstance = (name: string, env: Readonly<Record<string, string>>, logPath: string): Instance => {
  let child: ChildProcess | undefined;
  let rest = '';
  let websocket = '';
  let starts = 0;
  let log: WriteStream | undefined;
  let expectingExit = false;
  const crashes: { at: number; code: number | null; signal: string | null }[] = [];

  const start = async () => {
    log ??= createWriteStream(logPath, { flags: 'a' });
    starts += 1;
    rest = '';
    websocket = '';
    log.write(`--- start #${starts} at ${new Date().toISOString()}\n`);
    const proc = spawn(process.execPath, [serviceEntry], { env: { ...process.env, ...env }, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    expectingExit = false;
    let starting = true;
    proc.on('exit', (code, signal) => {
      // An exit before it started is a refused start (start() rejects with it), not a crash of a running service.
      if (expectingExit || starting) return;
      crashes.push({ at: Date.now(), code, signal });
      log?.write(`--- CRASHED (exit ${code}, signal ${signal}) at ${new Date().toISOString()}\n`);
    });
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      // Generous: on a loaded CI machine three Node services and the CLI compete for two cores.
      const timer = setTimeout(() => {
        expectingExit = true;
        if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
        reject(new Error(`${name} did not start in 120 s; see ${logPath}`));
      }, 120_000);
      proc.stderr?.on('data', (d: Buffer) => log?.write(d));
      const failed = (code: number | null) => {
        clearTimeout(timer);
        log?.write(`--- exited with ${code} while starting at ${new Date().toISOString()}\n`);
        reject(new Error(`${name} exited with ${code} while starting; see ${logPath}`));
      };
      proc.once('exit', failed);
      proc.stdout?.on('data', (d: Buffer) => {
        log?.write(d);
        if (rest !== '' && websocket !== '') return;
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.includes('credit ledger gateway started')) continue;
          const parsed = JSON.parse(line) as { rest: string; websocket: string };
          rest = parsed.rest;
          websocket = parsed.websocket;
          buffered = '';
          clearTimeout(timer);
          proc.off('exit', failed);
          starting = false;
          resolve();
          return;
        }
      });
    });
  };

  return {
    name,
    rest: () => rest,
    websocket: () => websocket,
    alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    pid: () => child?.pid,
    start,
    starts: () => starts,
    crashes: () => crashes,
    kill: async () => {
      const proc = child;
      if (proc?.pid === undefined) return;
      expectingExit = true;
      process.kill(proc.pid, 'SIGKILL');
      await waitExit(proc);
      log?.write(`--- SIGKILL at ${new Date().toISOString()}\n`);
    },
    stop: async (timeoutMs = 60_000) => {
      const proc = child;
      if (proc?.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
      expectingExit = true;
      process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => proc.pid !== undefined && process.kill(proc.pid, 'SIGKILL'), timeoutMs);
      const code = await waitExit(proc);
      clearTimeout(timer);
      log?.write(`--- stopped (${code}) at ${new Date().toISOString()}\n`);
      await new Promise<void>((r) => (log === undefined ? r() : log.end(() => r())));
      log = undefined;
      return code;
    },
  };
};

export type CliResult = { readonly code: number | null; readonly stdout: string; readonly stderr: string; readonly json: Record<string, unknown> | undefined };

/** Runs `ledger <args> --json` in a child process (asynchronously: streams keep flowing meanwhile). */
export const ledger = (args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 60_000): Promise<CliResult> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [ledgerBin, ...args, '--json'], { env: { ...process.env, ...env }, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try {
        const last = stdout.trim().split('\n').pop() ?? '';
        json = last === '' ? undefined : (JSON.parse(last) as Record<string, unknown>);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
