import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { UsageBatch } from '../../application/projections/usage.js';
import type { UsageReadModel } from '../../application/projections/usageReadModel.js';
import { CheckpointMoved, NO_POSITION } from '../../application/projections/usageReadModel.js';
import type { RefRecord } from './usageSql.js';
import { checkpointTableSql, groupOf, groupQuerySql, refOf, refsTableSql, rowsTableSql, rowValues, upsertRowSql } from './usageSql.js';

/**
 * The SQLite read model, in its own file beside the ledger's (data/ledger.db
 * -> data/ledger.usage.db). A separate file keeps the projection's writes off
 * the ledger's write lock, which the money path holds for every append; the
 * checkpoint lives in the same file as the rows, so a batch and its
 * checkpoint commit in one transaction.
 */
export const usageDbPathFor = (ledgerPath: string): string =>
  ledgerPath.endsWith('.db') ? `${ledgerPath.slice(0, -3)}.usage.db` : `${ledgerPath}.usage.db`;

export const makeSqliteUsageReadModel = (path: string): UsageReadModel => {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(rowsTableSql('usage_rows'));
  db.exec(refsTableSql('usage_refs'));
  db.exec(checkpointTableSql('usage_checkpoint'));
  const ph = () => '?';
  const readCheckpoint = db.prepare<[], { position: number }>('SELECT position FROM usage_checkpoint WHERE id = 1');
  const upsert = db.prepare(upsertRowSql('usage_rows', ph));
  const putRef = db.prepare('INSERT OR REPLACE INTO usage_refs (id, api_key_id, service, provider, model, amount) VALUES (?, ?, ?, ?, ?, ?)');
  const dropRef = db.prepare('DELETE FROM usage_refs WHERE id = ?');
  const getRef = db.prepare<[string], RefRecord>('SELECT * FROM usage_refs WHERE id = ?');
  const setCheckpoint = db.prepare('INSERT INTO usage_checkpoint (id, position) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET position = excluded.position');
  const holds = db.prepare<[], { n: number; credits: number | null }>("SELECT COUNT(*) AS n, SUM(amount) AS credits FROM usage_refs WHERE id LIKE 'r:%'");
  const current = () => readCheckpoint.get()?.position ?? NO_POSITION;

  const commit = db.transaction((batch: UsageBatch, after: number) => {
    const actual = current();
    if (actual !== after) throw new CheckpointMoved(after, actual);
    for (const row of batch.deltas) upsert.run(...rowValues(row));
    for (const [id, ref] of batch.put) putRef.run(id, ref.apiKeyId, ref.service, ref.provider, ref.model, ref.amount);
    for (const id of batch.drop) dropRef.run(id);
    setCheckpoint.run(batch.position);
  });

  return {
    kind: 'sqlite',
    checkpoint: () => Promise.resolve(current()),
    refs: (ids) => {
      const found = new Map<string, ReturnType<typeof refOf>>();
      for (const id of ids) {
        const record = getRef.get(id);
        if (record !== undefined) found.set(id, refOf(record));
      }
      return Promise.resolve(found);
    },
    commit: (batch, after) => {
      try {
        commit.immediate(batch, after);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    query: (query) => {
      const sql = groupQuerySql('usage_rows', query, ph);
      const rows = db.prepare(sql.rowsSql).all(...sql.rowsParams) as Record<string, unknown>[];
      const total = (db.prepare(sql.countSql).get(...sql.countParams) as { n: number }).n;
      return Promise.resolve({ rows: rows.map((r) => groupOf(r, query)), total });
    },
    openHolds: () => {
      const r = holds.get();
      return Promise.resolve({ count: r?.n ?? 0, credits: r?.credits ?? 0 });
    },
    reset: () => {
      db.exec('DELETE FROM usage_rows; DELETE FROM usage_refs; DELETE FROM usage_checkpoint;');
      return Promise.resolve();
    },
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
};
