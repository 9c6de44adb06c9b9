import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { sealEvents } from '../../../application/integrity.js';
import type { EventStore, RecordedEvent } from '../../../application/ports/eventStore.js';
import { repoRoot } from '../../support/runCli.js';

/**
 * Helpers for the auditor's tests: they run the compiled `ledger` binary
 * (bin/ledger.js over dist/, so `npm run build` first), exactly as an
 * auditor outside the service would.
 */
export type BinResult = { readonly code: number; readonly stdout: string; readonly stderr: string };

export const ledgerBin = (args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<BinResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/ledger.js', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Runs the binary and expects exit code 0. */
export const ok = async (args: readonly string[], env: Record<string, string>): Promise<BinResult> => {
  const result = await ledgerBin(args, env);
  if (result.code !== 0) throw new Error(`ledger ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
};

export const writeSigningKey = (dir: string, name = 'log-key.pem'): string => {
  const path = join(dir, name);
  writeFileSync(path, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return path;
};

/** An honest little history: grants, a deduction of 90, another grant. */
export const populate = async (env: Record<string, string>, account: string, amounts: readonly number[] = [100, 90, 10]) => {
  await ok(['grant', account, String(amounts[0]), '--id', `g-${account}-1`], env);
  await ok(['deduct', account, String(amounts[1]), '--id', `d-${account}-1`], env);
  await ok(['grant', account, String(amounts[2]), '--id', `g-${account}-2`], env);
};

/**
 * Forges a refund of 50,000 against the 90-credit deduction, chained and
 * hashed exactly as the ledger would (an attacker with write access to the
 * database and knowledge of the scheme): only the rules of money catch it.
 */
export const forgeOverRefund = async (store: EventStore, account: string): Promise<number> => {
  const stream = `account-${account}`;
  const events: RecordedEvent[] = [];
  for await (const e of store.readStream(stream)) events.push(e);
  const last = events[events.length - 1] as RecordedEvent;
  const { sealed } = sealEvents(
    stream,
    last.revision + 1,
    last.metadata.hash,
    [{ type: 'DeductionRefunded', data: { refundId: 'forged', deductionId: `d-${account}-1`, amount: 50_000, at: Date.now() } }],
    Date.now(),
  );
  const appended = await store.appendToStream(stream, sealed, last.revision)();
  expect(E.isRight(appended)).toBe(true);
  return last.revision + 1;
};
