import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { capturingLogger } from '../../support/logCapture.js';
import { startService } from '../../../adapters/main.js';
import { StartupError } from '../../../adapters/system/startupError.js';
import { ledgerBin, writeSigningKey } from './auditorKit.js';

/**
 * The service must not sign a history inconsistent with one it already
 * signed. A ledger file restored from an older copy, cut or edited under a
 * stopped service: in production start-up stops and says how to go on; in
 * development the service starts with an error line.
 */
const dir = mkdtempSync(join(tmpdir(), 'ledger-rollback-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const envFor = (name: string, production: boolean): Record<string, string> => ({
  EVENT_STORE: `sqlite:${join(dir, `${name}.db`)}`,
  LEDGER_SIGNING_KEY_FILE: writeSigningKey(dir, `${name}-key.pem`),
  LEDGER_STATE_DIR: join(dir, `${name}-state`),
  CHECKPOINT_EVERY: '1',
  PORT: '0',
  WS_PORT: '0',
  HOST: '127.0.0.1',
  JWT_SECRET: 'r'.repeat(40),
  PUBLIC_URL: 'https://ledger.example.test',
  LOG_LEVEL: 'silent',
  ...(production ? { NODE_ENV: 'production' } : {}),
});

/** Runs the service once: five grants, every one checkpointed, then stops. */
const runOnce = async (env: Record<string, string>) => {
  const service = await startService(env);
  for (let i = 0; i < 5; i++) await service.app.ledger.grant({ accountId: 'ann', grantId: `g${i}`, amount: 10 + i });
  let last = -1;
  for await (const e of service.app.store.readAll()) last = e.position;
  expect(await service.app.ledgerLog.waitFor(last, 30_000)).toBe(true);
  await service.app.ledgerLog.checkpointNow();
  await service.stop();
};

const edit = (env: Record<string, string>, sql: string) => {
  const db = new Database((env['EVENT_STORE'] as string).slice('sqlite:'.length));
  db.exec(sql);
  db.close();
};

describe('a store changed under a stopped service', () => {
  it('production: a cut ledger stops start-up, naming the sizes and the way out; the store put back starts again', async () => {
    const env = envFor('cut', true);
    await runOnce(env);
    const db = new Database((env['EVENT_STORE'] as string).slice('sqlite:'.length));
    const backup = db.prepare('SELECT * FROM events WHERE position >= 3 ORDER BY position').all() as Record<string, unknown>[];
    db.exec('DELETE FROM events WHERE position >= 3');
    db.close();
    const refused = startService(env);
    await expect(refused).rejects.toThrow(StartupError);
    await expect(refused).rejects.toThrow(/the ledger holds 3 events, fewer than the \d+ its newest signed checkpoint committed to .*move aside .*cut-state/);
    // Put back what was cut: the same history, so the service starts and signs on.
    const restore = new Database((env['EVENT_STORE'] as string).slice('sqlite:'.length));
    const columns = Object.keys(backup[0] as object);
    const insert = restore.prepare(`INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
    for (const row of backup) insert.run(row);
    restore.close();
    const service = await startService(env);
    expect(service.app.ledgerLog.history()).toMatchObject({ kind: 'consistent' });
    await service.stop();
  }, 120_000);

  it('production: an edited event stops start-up too, and `ledger checkpoint` refuses to sign it', async () => {
    const env = envFor('edited', true);
    await runOnce(env);
    edit(env, `UPDATE events SET data = replace(data, '"amount":10', '"amount":11') WHERE position = 1`);
    await expect(startService(env)).rejects.toThrow(/no longer hash to the root its newest signed checkpoint committed to/);
    const cli = await ledgerBin(['checkpoint'], env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('refused: the first');
    expect(cli.stdout).toBe('');
  }, 120_000);

  it('development: the service starts, with an error line that says what it found', async () => {
    const env = envFor('dev', false);
    await runOnce(env);
    edit(env, 'DELETE FROM events WHERE position >= 2');
    const { lines, logger } = capturingLogger();
    const service = await startService({ ...env, LOG_LEVEL: 'info' }, { logger });
    try {
      expect(service.app.ledgerLog.history()).toMatchObject({ kind: 'rolledBack', size: 2 });
      const line = lines.find((l) => String(l['msg']).includes('fewer than'));
      expect(line).toMatchObject({ level: 50 });
      expect(String(line?.['msg'])).toContain('(development: signing anyway)');
    } finally {
      await service.stop();
    }
  }, 120_000);
});
