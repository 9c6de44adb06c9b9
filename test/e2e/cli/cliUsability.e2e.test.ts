import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli } from '../../support/runCli.js';

/** Per-command help, --version, read commands that never create a ledger, the audit summary. */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-usability-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ledger CLI usability', () => {
  it('prints the help of one command for `<command> --help`, and the version for --version', async () => {
    const grant = await runCli(['grant', '--help']);
    expect(grant.code).toBe(0);
    expect(grant.stdout).toContain('Usage: ledger grant <account> <amount>');
    expect(grant.stdout).not.toContain('Commands');
    const audit = await runCli(['help', 'audit']);
    expect(audit.stdout).toContain('--accounts');
    const version = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(`ledger ${pkg.version} (node ${process.version})`);
    const bad = await runCli(['grant', 'alice'], { EVENT_STORE: 'memory:' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Run "ledger grant --help"');
  });

  it('read commands never create a store: balance, history and audit on a missing ledger exit 3 and leave no file', async () => {
    const db = join(dir, 'data', 'ledger.db');
    for (const args of [['balance', 'x'], ['history', 'x'], ['audit'], ['roles', 'show', 'x']]) {
      const run = await runCli(args, { EVENT_STORE: `sqlite:${db}` });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`no ledger at ${db}`);
    }
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('audit prints a summary by default and one line per account with --accounts', async () => {
    const env = { EVENT_STORE: `sqlite:${join(dir, 'audited.db')}` };
    for (const account of ['a1', 'a2', 'a3']) expect((await runCli(['grant', account, '100', '--id', `g-${account}`], env)).code).toBe(0);
    const summary = await runCli(['audit'], env);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toContain('3 accounts: balance 300, held 0 (--accounts for one line each)');
    expect(summary.stdout).toContain('audit passed');
    expect(summary.stdout).not.toContain('a2\tbalance');
    const detailed = await runCli(['audit', '--accounts'], env);
    expect(detailed.stdout).toContain('a2\tbalance 100\theld 0');
  });
});
