import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describeWithPostgres } from '../../support/services.js';
import { runCli } from '../../support/runCli.js';

/**
 * No double spend across processes: many `ledger deduct` processes run at
 * once against one account in one store. Exactly floor(balance / amount) of
 * them succeed, the rest are refused as insufficient, and the balance ends at
 * the remainder, never below zero.
 */
const race = async (env: Record<string, string>) => {
  const account = `racer-${process.pid}-${Date.now()}`;
  expect((await runCli(['grant', account, '1000', '--id', 'seed', '--json'], env)).code).toBe(0);
  const attempts = 20; // 20 x 70 = 1400 asked, 1000 available: 14 must succeed
  const results = await Promise.all(
    Array.from({ length: attempts }, (_, i) => runCli(['deduct', account, '70', '--id', `d${i}`, '--json'], env, 60_000)),
  );
  const bodies = results.map((r) => JSON.parse(r.stdout.trim()) as { ok: boolean; error?: { _tag: string } });
  const succeeded = bodies.filter((b) => b.ok).length;
  expect(bodies.filter((b) => !b.ok).every((b) => b.error?._tag === 'InsufficientCredits')).toBe(true);
  expect(succeeded).toBe(14);
  const balance = JSON.parse((await runCli(['balance', account, '--json'], env)).stdout.trim()) as { balance: number };
  expect(balance.balance).toBe(1000 - 14 * 70);
  const audit = await runCli(['audit', '--json'], env, 60_000);
  expect(audit.code).toBe(0);
};

describe('concurrent CLI deductions on one SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-race-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('never overspends', async () => {
    await race({ EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}` });
  }, 120_000);
});

describeWithPostgres('concurrent CLI deductions on PostgreSQL', (url) => {
  const schema = `cli_race_${process.pid}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  it('never overspends', async () => {
    const u = new URL(url);
    u.searchParams.set('schema', schema);
    await race({ EVENT_STORE: u.toString() });
  }, 120_000);
});
