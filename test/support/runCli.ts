import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs the real `ledger` CLI (its TypeScript entry through the swc loader) in a child process. */
const root = fileURLToPath(new URL('../../', import.meta.url));

export type CliResult = { readonly code: number; readonly stdout: string; readonly stderr: string };

export const runCli = (args: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './test/support/swcRegister.mjs', 'adapters/cli/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ledger ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });

export const repoRoot = root;
