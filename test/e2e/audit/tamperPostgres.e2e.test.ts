import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { makePostgresEventStore } from '../../../adapters/eventstore/postgres/postgresEventStore.js';
import { describeWithPostgres } from '../../support/services.js';
import { writeSigningKey } from './auditorKit.js';
import { tamperCases, type TamperTarget } from './tamperCases.js';

describeWithPostgres('the provable ledger from outside, on PostgreSQL', (url) => {
  const prefix = `tamper_${randomBytes(4).toString('hex')}`;
  const schemas = new Set<string>();
  let dir: string;
  let keyFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-tamper-pg-'));
    keyFile = writeSigningKey(dir);
  });
  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const schema = (name: string) => {
    const s = `${prefix}_${name}`;
    schemas.add(s);
    return s;
  };
  const storeUrl = (name: string) => {
    const u = new URL(url);
    u.searchParams.set('schema', schema(name));
    return u.toString();
  };
  const target = (): TamperTarget => ({
    dir,
    env: (name) => ({ EVENT_STORE: storeUrl(name), LEDGER_SIGNING_KEY_FILE: keyFile, LEDGER_ORIGIN: 'tamper.test/ledger', LEDGER_STATE_DIR: dir }),
    deleteFrom: async (name, position) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DELETE FROM ${schema(name)}.events WHERE position >= $1`, [position]);
      } finally {
        await client.end();
      }
    },
    open: async (name) => makePostgresEventStore({ connectionString: url, schema: schema(name) }),
  });
  tamperCases(target);
});
