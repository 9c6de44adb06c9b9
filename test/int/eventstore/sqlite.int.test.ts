import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from '@jest/globals';
import { makeSqliteEventStore } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { eventStoreContract } from '../../contract/eventStore.contract.js';

// A fresh file per run, synchronous=FULL as in production.
const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

eventStoreContract('sqlite (FULL)', () => makeSqliteEventStore({ path: join(dir, 'ledger.db'), synchronous: 'FULL' }), {
  largeStreamEvents: 100_000,
  largeStreamTimeoutMs: 60_000,
});
