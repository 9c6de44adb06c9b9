import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, and the compiled service's entry (`npm start`). */
export const repoRootDir = fileURLToPath(new URL('../../', import.meta.url));
export const serviceEntry = join(repoRootDir, 'dist/adapters/main.js');

export type CompiledService = {
  readonly child: ChildProcess;
  readonly rest: string;
  readonly websocket: string;
  /** Everything the service wrote to stdout and stderr so far. */
  readonly output: () => string;
};

/**
 * Starts the compiled service (node dist/adapters/main.js) with `env` and
 * resolves at its "credit ledger gateway started" line, with the addresses it
 * printed. `npm ci` builds dist/ (the prepare script); run `npm run build` after changes.
 */
export const startCompiledService = async (env: NodeJS.ProcessEnv): Promise<CompiledService> => {
  if (!existsSync(serviceEntry)) throw new Error('dist/ is missing: run "npm run build" (npm ci does it)');
  const child = spawn(process.execPath, [serviceEntry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const started = await new Promise<{ rest: string; websocket: string }>((resolve, reject) => {
    // Generous: CI runs this on Node 22 and 24 too, beside other work on two cores.
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${output}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('credit ledger gateway started')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { rest: string; websocket: string });
      }
    });
  });
  return { child, rest: started.rest, websocket: started.websocket, output: () => output };
};
