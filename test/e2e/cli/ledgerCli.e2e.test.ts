import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/runCli.js';

/** The real CLI on a real SQLite file, one process per command, as an operator uses it. */
describe('ledger CLI', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-cli-'));
    env = { EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}`, JWT_SECRET: 'x'.repeat(40) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const json = async (args: string[]) => {
    const r = await runCli([...args, '--json'], env);
    return { ...r, body: r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout.trim().split('\n').pop() as string) };
  };

  it('prints help and exits 0; no command is a usage error (2)', async () => {
    const help = await runCli(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ledger');
    expect((await runCli([], env)).code).toBe(2);
  });

  it('refuses bad arguments with exit code 2 and a clear message', async () => {
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const notNumber = await runCli(['grant', 'alice', 'ten'], env);
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toContain('amount must be a number');
    const noId = await runCli(['deduct', 'alice', '5'], env);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('missing --id');
    const badFlag = await runCli(['balance', 'alice', '--nope'], env);
    expect(badFlag.code).toBe(2);
    // Usage is judged before the store is opened: a broken store does not hide a typo.
    const typoBrokenStore = await runCli(['frobnicate'], { ...env, EVENT_STORE: 'sqlite:/etc/passwd/not-a-dir/ledger.db' });
    expect(typoBrokenStore.code).toBe(2);
    const storeDown = await runCli(['balance', 'alice'], { ...env, EVENT_STORE: 'sqlite:/etc/passwd/not-a-dir/ledger.db' });
    expect(storeDown.code).toBe(3);
    expect(storeDown.stderr).toContain('ledger:');
  });

  it('grants, reserves, settles, deducts, and reports balances and history', async () => {
    expect((await json(['grant', 'alice', '1000', '--id', 'g1'])).body).toMatchObject({ ok: true, balance: 1000 });
    const repeat = await json(['grant', 'alice', '1000', '--id', 'g1']);
    expect(repeat.body).toMatchObject({ ok: true, balance: 1000, duplicate: true });
    const conflict = await json(['grant', 'alice', '999', '--id', 'g1']);
    expect(conflict.code).toBe(1);
    expect(conflict.body.error).toMatchObject({ _tag: 'IdConflict', field: 'amount' });

    expect((await json(['reserve', 'alice', '300', '--id', 'r1', '--ttl', '5m'])).body).toMatchObject({ available: 700 });
    const settle = await json(['settle', 'alice', '--id', 'r1', '--charge', '120', '--model', 'gpt-4o', '--output-tokens', '40']);
    expect(settle.body).toMatchObject({ charged: 120, released: 180, balance: 880, available: 880 });
    const over = await json(['deduct', 'alice', '881', '--id', 'd1']);
    expect(over.code).toBe(1);
    expect(over.body.error).toMatchObject({ _tag: 'InsufficientCredits', requested: 881, available: 880 });
    expect((await json(['deduct', 'alice', '80', '--id', 'd1'])).body).toMatchObject({ balance: 800 });
    expect((await json(['deduct', 'alice', '0', '--id', 'd2'])).body.error).toMatchObject({ _tag: 'InvalidAmount' });

    const balance = await json(['balance', 'alice']);
    expect(balance.body).toMatchObject({ balance: 800, held: 0, available: 800 });
    const history = await json(['history', 'alice']);
    expect(history.body.items.map((e: { type: string }) => e.type)).toEqual([
      'AccountOpened',
      'CreditsGranted',
      'CreditsReserved',
      'ReservationSettled',
      'CreditsDeducted',
    ]);
    const past = await json(['balance', 'alice', '--at', '2000-01-01T00:00:00Z']);
    expect(past.body).toMatchObject({ exists: false, balance: 0 });
  });

  it('assigns and revokes roles', async () => {
    expect((await json(['roles', 'assign', 'bob', 'admin'])).body).toMatchObject({ roles: ['user', 'admin'], changed: true });
    expect((await json(['roles', 'revoke', 'bob', 'user'])).body).toMatchObject({ roles: ['admin'] });
    const bad = await runCli(['roles', 'assign', 'bob', 'emperor'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown role');
  });

  it('mints a dev token', async () => {
    const r = await json(['token', 'alice', '--ttl', '10m']);
    expect(r.code).toBe(0);
    expect(r.body.token.split('.')).toHaveLength(3);
  });

  it('audits the ledger: passes, prints balances and a stable digest', async () => {
    const first = await json(['audit']);
    expect(first.code).toBe(0);
    expect(first.body).toMatchObject({ ok: true, violations: [] });
    expect(first.body.accounts).toEqual([{ accountId: 'alice', balance: 800, held: 0 }]);
    const second = await json(['audit']);
    expect(second.body.digest).toBe(first.body.digest);
    const human = await runCli(['audit'], env);
    expect(human.stdout).toContain('audit passed');
  });
});
