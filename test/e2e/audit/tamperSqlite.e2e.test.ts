import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from '@jest/globals';
import Database from 'better-sqlite3';
import { makeSqliteEventStore } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { writeSigningKey } from './auditorKit.js';
import { tamperCases, type TamperTarget } from './tamperCases.js';

describe('the provable ledger from outside, on SQLite', () => {
  let dir: string;
  let keyFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-tamper-sqlite-'));
    keyFile = writeSigningKey(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string) => join(dir, `${name}.db`);
  const target = (): TamperTarget => ({
    dir,
    env: (name) => ({ EVENT_STORE: `sqlite:${file(name)}`, LEDGER_SIGNING_KEY_FILE: keyFile, LEDGER_ORIGIN: 'tamper.test/ledger' }),
    deleteFrom: async (name, position) => {
      const db = new Database(file(name));
      try {
        db.exec(`DELETE FROM events WHERE position >= ${Number(position)}`);
      } finally {
        db.close();
      }
    },
    open: (name) => makeSqliteEventStore({ path: file(name) }),
  });
  tamperCases(target);
});
