import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The README's "Try it", step by step, on the compiled code and with nothing
 * configured: `npm start` in one terminal (here: node dist/adapters/main.js
 * with only the ports moved to free ones), then in a second terminal
 * `npx ledger grant`, `npx ledger token` (here: bin/ledger.js, what npx runs),
 * the curl for the balance, `node examples/stream.mjs`, and `npx ledger audit`.
 * No JWT_SECRET anywhere: the token command finds the development secret the
 * service wrote. `npm run build` first.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));

let cwd: string;
let service: ChildProcess;
let output = '';
let restUrl = '';
let wsPort = '';
const env = () => ({ PATH: process.env['PATH'] ?? '', HOME: cwd, SCRIPTED_CHUNK_DELAY_MS: '1' });
const ledger = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin/ledger.js'), ...args], { cwd, env: env(), encoding: 'utf8', timeout: 60_000 });

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/adapters/main.js'))) throw new Error('dist/ is missing: run "npm run build"');
  cwd = mkdtempSync(join(tmpdir(), 'readme-'));
  service = spawn(process.execPath, [join(root, 'dist/adapters/main.js')], { cwd, env: { ...env(), PORT: '0', WS_PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  service.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    // Generous: CI also runs this on Node 22 and 24, and start-up loads the tokenizer's tables (seconds on a busy machine).
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${output}`)), 60_000);
    service.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const line = output.split('\n').find((l) => l.includes('credit ledger gateway started'));
      if (line === undefined || restUrl !== '') return;
      const started = JSON.parse(line) as { rest: string; websocket: string };
      restUrl = started.rest;
      wsPort = new URL(started.websocket).port;
      clearTimeout(timer);
      resolve();
    });
  });
}, 70_000);

afterAll(async () => {
  if (service.exitCode === null) {
    const exited = new Promise((r) => service.once('exit', r));
    service.kill('SIGTERM');
    await exited;
  }
  rmSync(cwd, { recursive: true, force: true });
});

describe('README: Try it', () => {
  it('grant, token, balance, stream, audit: each step succeeds', () => {
    const grant = ledger('grant', 'alice', '100000', '--reason', 'welcome credit');
    expect(grant.stderr).toBe('');
    expect(grant.status).toBe(0);

    const token = ledger('token', 'alice', '--ttl', '1h');
    expect(token.status).toBe(0);
    const TOKEN = token.stdout.trim();
    expect(TOKEN.split('.')).toHaveLength(3);

    return (async () => {
      const balance = await fetch(`${restUrl}/api/credits/alice`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(balance.status).toBe(200);
      expect(await balance.json()).toMatchObject({ balance: 100000 });

      const stream = spawnSync(process.execPath, [join(root, 'examples/stream.mjs'), 'Say hello'], { cwd, env: { ...env(), TOKEN, WS_PORT: wsPort }, encoding: 'utf8', timeout: 60_000 });
      expect(stream.stderr).toBe('');
      expect(stream.status).toBe(0);
      expect(stream.stdout).toMatch(/charged [1-9]\d* credits, balance \d+/);

      const audit = ledger('audit');
      expect(audit.status).toBe(0);
      expect(audit.stdout).toContain('1 accounts');
      expect(audit.stdout).toContain('audit passed');

      // The development secret was never printed, only its file.
      expect(output).toContain(join(cwd, 'data', 'dev-jwt-secret'));
      expect(output).not.toContain(TOKEN);
    })();
  }, 120_000);
});
