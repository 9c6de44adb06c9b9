import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { startService, type Service } from '../../../adapters/main.js';
import { ledgerBin, writeSigningKey } from './auditorKit.js';

/**
 * An independent witness (the real binary) against the real service: it
 * cosigns the first checkpoint it sees and every consistent extension, and
 * refuses a log whose history was rewritten (a fork) or cut (a rollback).
 */
const TIMEOUT_MS = 240_000;

describe('ledger witness', () => {
  let dir: string;
  let env: Record<string, string>;
  let service: Service | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-witness-'));
    env = {
      EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}`,
      LEDGER_SIGNING_KEY_FILE: writeSigningKey(dir),
      LEDGER_ORIGIN: 'witness.test/ledger',
      CHECKPOINT_EVERY: '1',
      PORT: '0',
      WS_PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: 'w'.repeat(40),
      LOG_LEVEL: 'silent',
    };
  });
  afterAll(async () => {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    service = await startService(env);
    return service;
  };
  const stop = async () => {
    await service?.stop();
    service = undefined;
  };
  const grants = async (s: Service, account: string, n: number) => {
    for (let i = 0; i < n; i++) await s.app.ledger.grant({ accountId: account, grantId: `${account}-${i}`, amount: 10 + i });
    let last = -1;
    for await (const e of s.app.store.readAll()) last = e.position;
    // The follower runs beside the appends, not inside them: wait until it has hashed them.
    expect(await s.app.ledgerLog.waitFor(last, 30_000)).toBe(true);
    await s.app.ledgerLog.checkpointNow();
  };
  const witness = (s: Service) => ledgerBin(['witness', '--key', join(dir, 'witness.pem'), '--state', join(dir, 'witness'), '--name', 'test-witness', s.http.url], env);

  it(
    'cosigns the first checkpoint and each consistent extension, then refuses a fork and a rollback',
    async () => {
      let s = await start();
      await grants(s, 'alice', 3);
      const first = await witness(s);
      expect(first.code).toBe(0);
      expect(first.stderr).toContain('trusted on first use');
      expect(first.stdout).toContain('\u2014 test-witness ');

      await grants(s, 'bob', 2);
      const second = await witness(s);
      expect(second.code).toBe(0);
      expect(second.stderr).toContain('a consistent extension of');
      const cosigned = JSON.parse(readFileSync(join(dir, 'witness', 'state.json'), 'utf8')) as { size: number };
      expect(cosigned.size).toBe(s.app.ledgerLog.size());

      // Fork: rewrite an old event in the database, then let the log grow past what the witness saw.
      await stop();
      const db = new Database(join(dir, 'ledger.db'));
      db.exec(`UPDATE events SET data = replace(data, '"amount":10', '"amount":11') WHERE position = 1`);
      db.close();
      s = await start();
      await grants(s, 'carol', 2);
      const forked = await witness(s);
      expect(forked.code).toBe(1);
      expect(forked.stderr).toContain('fork');
      expect((JSON.parse(readFileSync(join(dir, 'witness', 'state.json'), 'utf8')) as { size: number }).size).toBe(cosigned.size);

      // Rollback: cut the log below what the witness cosigned.
      await stop();
      const cut = new Database(join(dir, 'ledger.db'));
      cut.exec('DELETE FROM events WHERE position >= 3');
      cut.close();
      s = await start();
      const rolledBack = await witness(s);
      expect(rolledBack.code).toBe(1);
      expect(rolledBack.stderr).toContain('rollback');
    },
    TIMEOUT_MS,
  );
});
