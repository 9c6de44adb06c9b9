import pg from 'pg';
import type { UsageBatch } from '../../application/projections/usage.js';
import type { UsageReadModel } from '../../application/projections/usageReadModel.js';
import { CheckpointMoved, NO_POSITION } from '../../application/projections/usageReadModel.js';
import type { RefRecord } from './usageSql.js';
import { checkpointTableSql, counterColumnNames, groupOf, groupQuerySql, keyColumnNames, refOf, refsTableSql, rowsTableSql, rowValues } from './usageSql.js';

/**
 * The PostgreSQL read model: tables in the ledger's schema, next to the
 * events. A batch locks the checkpoint row (SELECT ... FOR UPDATE), applies
 * its deltas and moves the checkpoint in one transaction, so two runners on
 * the same database never both apply a batch.
 */
const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid PostgreSQL schema name "${name}"`);
  return `"${name}"`;
};

/** Rows of values turned into one array per column, the parameters of an INSERT ... SELECT FROM unnest(...). */
const columnsOf = (rows: readonly (readonly (string | number)[])[], width: number): (string | number)[][] =>
  Array.from({ length: width }, (_, c) => rows.map((r) => r[c] as string | number));

/** The multi-row form of upsertRowSql: every delta of a batch in one statement, adding every counter. */
const upsertRowsUnnestSql = (table: string): string => {
  const all = [...keyColumnNames, ...counterColumnNames];
  const arrays = [...keyColumnNames.map(() => 'text[]'), ...counterColumnNames.map(() => 'bigint[]')];
  return `INSERT INTO ${table} (${all.join(', ')}) SELECT * FROM unnest(${arrays.map((type, i) => `$${i + 1}::${type}`).join(', ')})
    ON CONFLICT (${keyColumnNames.join(', ')}) DO UPDATE SET ${counterColumnNames.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')}`;
};

export const makePostgresUsageReadModel = async (options: { readonly connectionString: string; readonly schema: string }): Promise<UsageReadModel> => {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: 4 });
  // A checked-out client has no 'error' listener of the pool's: without one, a server shutdown mid-query
  // is an uncaught 'error' event that ends the process. The query itself still rejects.
  pool.on('connect', (client) => client.on('error', () => undefined));
  pool.on('error', () => undefined);
  const s = ident(options.schema);
  const rows = `${s}.usage_rows`;
  const refs = `${s}.usage_refs`;
  const checkpoint = `${s}.usage_checkpoint`;
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  await pool.query(rowsTableSql(rows));
  await pool.query(refsTableSql(refs));
  await pool.query(checkpointTableSql(checkpoint));
  const ph = (i: number) => `$${i}`;
  const rowColumnCount = keyColumnNames.length + counterColumnNames.length;
  const upsertRows = upsertRowsUnnestSql(rows);

  const commit = async (batch: UsageBatch, after: number) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${checkpoint} (id, position) VALUES (1, ${NO_POSITION}) ON CONFLICT (id) DO NOTHING`);
      const found = await client.query<{ position: string }>(`SELECT position FROM ${checkpoint} WHERE id = 1 FOR UPDATE`);
      const actual = Number(found.rows[0]?.position ?? NO_POSITION);
      if (actual !== after) throw new CheckpointMoved(after, actual);
      // One statement each for the rows and the references, whatever the batch size: a round trip per
      // row made catch-up run at a few hundred events/s. A batch has one delta per key and one put per id.
      if (batch.deltas.length > 0) await client.query(upsertRows, columnsOf(batch.deltas.map(rowValues), rowColumnCount));
      if (batch.put.length > 0) {
        await client.query(
          `INSERT INTO ${refs} (id, api_key_id, service, provider, model, amount)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
           ON CONFLICT (id) DO UPDATE SET api_key_id = excluded.api_key_id, service = excluded.service, provider = excluded.provider, model = excluded.model, amount = excluded.amount`,
          columnsOf(batch.put.map(([id, ref]) => [id, ref.apiKeyId, ref.service, ref.provider, ref.model, ref.amount]), 6),
        );
      }
      if (batch.drop.length > 0) await client.query(`DELETE FROM ${refs} WHERE id = ANY($1)`, [batch.drop]);
      await client.query(`UPDATE ${checkpoint} SET position = $1 WHERE id = 1`, [batch.position]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };

  return {
    kind: 'postgres',
    checkpoint: async () => {
      const found = await pool.query<{ position: string }>(`SELECT position FROM ${checkpoint} WHERE id = 1`);
      return Number(found.rows[0]?.position ?? NO_POSITION);
    },
    refs: async (ids) => {
      if (ids.length === 0) return new Map();
      const found = await pool.query<RefRecord>(`SELECT * FROM ${refs} WHERE id = ANY($1)`, [ids]);
      return new Map(found.rows.map((r) => [r.id, refOf(r)]));
    },
    commit,
    query: async (query) => {
      const sql = groupQuerySql(rows, query, ph);
      const [found, count] = await Promise.all([pool.query(sql.rowsSql, sql.rowsParams), pool.query<{ n: string }>(sql.countSql, sql.countParams)]);
      return { rows: found.rows.map((r: Record<string, unknown>) => groupOf(r, query)), total: Number(count.rows[0]?.n ?? 0) };
    },
    openHolds: async () => {
      const found = await pool.query<{ n: string; credits: string | null }>(`SELECT COUNT(*) AS n, SUM(amount) AS credits FROM ${refs} WHERE id LIKE 'r:%'`);
      return { count: Number(found.rows[0]?.n ?? 0), credits: Number(found.rows[0]?.credits ?? 0) };
    },
    reset: async () => {
      await pool.query(`TRUNCATE ${rows}, ${refs}, ${checkpoint}`);
    },
    close: () => pool.end(),
  };
};
