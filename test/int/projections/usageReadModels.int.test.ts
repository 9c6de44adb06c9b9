import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from '@jest/globals';
import pg from 'pg';
import { makePostgresUsageReadModel } from '../../../adapters/projections/postgresUsageReadModel.js';
import { makeSqliteUsageReadModel } from '../../../adapters/projections/sqliteUsageReadModel.js';
import { postgresOrSkip } from '../../support/services.js';
import { readModelSuite } from '../../unit/projections/readModelSuite.js';

/** The same projection suite against the real SQLite and PostgreSQL read models. */
const dir = mkdtempSync(join(tmpdir(), 'usage-rm-'));
let n = 0;

describe('SQLite usage read model', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  readModelSuite('sqlite', () => Promise.resolve(makeSqliteUsageReadModel(join(dir, `usage-${++n}.db`))), 40);
});

// Skipped with a printed line on a laptop without DATABASE_URL; under CI=true a missing database fails the file.
const { describe: pgDescribe, url: databaseUrl } = postgresOrSkip();

pgDescribe('PostgreSQL usage read model', () => {
  const schema = `usage_test_${process.pid}`;
  afterAll(async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });
  // Every run starts from empty tables in a schema of its own.
  readModelSuite(
    'postgres',
    async () => {
      const model = await makePostgresUsageReadModel({ connectionString: databaseUrl, schema });
      await model.reset();
      return model;
    },
    15,
  );
});
