import { randomBytes } from 'node:crypto';
import { afterAll } from '@jest/globals';
import pg from 'pg';
import { makePostgresEventStore } from '../../../adapters/eventstore/postgres/postgresEventStore.js';
import { eventStoreContract } from '../../contract/eventStore.contract.js';
import { describeWithPostgres } from '../../support/services.js';

describeWithPostgres('postgres event store', (url) => {
  // Each run gets its own schema, dropped afterwards.
  const schema = `t_${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  eventStoreContract('postgres', () => makePostgresEventStore({ connectionString: url, schema }), {
    largeStreamEvents: 100_000,
    largeStreamTimeoutMs: 60_000,
  });
});
