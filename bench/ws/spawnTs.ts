import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';

/**
 * Starts a TypeScript file of the project as a child process (through the swc
 * loader) with an IPC channel, and resolves with what it sends as
 * `{ ready: ... }` (its address). Its stdout (logs) is passed through.
 */
export type Child<T> = { readonly process: ChildProcess; readonly ready: T; readonly stop: () => Promise<void> };

export type SpawnOptions = {
  readonly nodeArgs?: readonly string[];
  /** CPUs to pin the child to (taskset -c), e.g. "1". */
  readonly cpus?: string;
  /** Another checkout to run `file` from (its own code, e.g. an earlier commit for a before/after run). */
  readonly cwd?: string;
};

export const spawnTs = async <T>(file: string, env: Readonly<Record<string, string>>, options: SpawnOptions = {}): Promise<Child<T>> => {
  const args = [...(options.nodeArgs ?? []), '--import', './test/support/swcRegister.mjs', file];
  const [command, argv] = options.cpus === undefined ? [process.execPath, args] : ['taskset', ['-c', options.cpus, process.execPath, ...args]];
  const child = spawn(command, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  // A parent that dies must not leave its servers behind.
  process.once('exit', () => child.kill('SIGKILL'));
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'ready' in message) {
        child.off('message', onMessage);
        resolve((message as { ready: T }).ready);
      }
    };
    child.on('message', onMessage);
  });
  return {
    process: child,
    ready,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        if (child.connected) child.send('close');
        else child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
};

/** Asks a gatewayProcess child for its stats and memory. */
export const askStats = <T>(child: ChildProcess): Promise<T> =>
  new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (typeof message !== 'object' || message === null || !('stats' in message)) return;
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.send('stats');
  });

/** Pins this process (all its threads) to the given CPUs; children spawned later inherit it. */
export const pinSelf = (cpus: string) => {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
};

export const percentile = (sorted: readonly number[], p: number): number => {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
};

export const fmt = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(2) : 'n/a');
