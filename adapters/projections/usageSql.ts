import type { UsageGroup, UsageQuery } from '../../application/projections/usageReadModel.js';
import { dimensionColumn } from '../../application/projections/usageReadModel.js';
import type { UsageCounter, UsageKey, UsageRef, UsageService } from '../../application/projections/usage.js';
import { serviceOf, usageCounters } from '../../application/projections/usage.js';

/**
 * SQL shared by the SQLite and PostgreSQL read models: the same table shapes,
 * column names and query text, with the placeholder style as the only
 * difference.
 */
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export const keyColumns: readonly (keyof UsageKey)[] = ['day', 'accountId', 'apiKeyId', 'service', 'provider', 'model'];
export const keyColumnNames = keyColumns.map(snake);
export const counterColumnNames = usageCounters.map(snake);

export const rowsTableSql = (table: string): string => `
  CREATE TABLE IF NOT EXISTS ${table} (
    ${keyColumnNames.map((c) => `${c} TEXT NOT NULL`).join(',\n    ')},
    ${counterColumnNames.map((c) => `${c} BIGINT NOT NULL DEFAULT 0`).join(',\n    ')},
    PRIMARY KEY (${keyColumnNames.join(', ')})
  )`;

export const refsTableSql = (table: string): string => `
  CREATE TABLE IF NOT EXISTS ${table} (
    id TEXT PRIMARY KEY,
    api_key_id TEXT NOT NULL,
    service TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    amount BIGINT NOT NULL
  )`;

export const checkpointTableSql = (table: string): string => `
  CREATE TABLE IF NOT EXISTS ${table} (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
  )`;

type Placeholder = (index: number) => string;

/** INSERT ... ON CONFLICT DO UPDATE adding every counter: applying a delta is one statement per row. */
export const upsertRowSql = (table: string, ph: Placeholder): string => {
  const all = [...keyColumnNames, ...counterColumnNames];
  return `INSERT INTO ${table} (${all.join(', ')}) VALUES (${all.map((_, i) => ph(i + 1)).join(', ')})
    ON CONFLICT (${keyColumnNames.join(', ')}) DO UPDATE SET ${counterColumnNames.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')}`;
};

export const rowValues = (row: UsageKey & { readonly [K in UsageCounter]: number }): (string | number)[] => [
  ...keyColumns.map((c) => row[c]),
  ...usageCounters.map((c) => row[c]),
];

export type RefRecord = { id: string; api_key_id: string; service: string; provider: string; model: string; amount: number | string };

export const refOf = (r: RefRecord): UsageRef => ({
  apiKeyId: r.api_key_id,
  service: serviceOf(r.service) as UsageService,
  provider: r.provider,
  model: r.model,
  amount: Number(r.amount),
});

/** The grouped query and its count, with parameters, for a read model's placeholder style. */
export const groupQuerySql = (table: string, query: UsageQuery, ph: Placeholder) => {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: (p: string) => string, value: string | number) => {
    params.push(value);
    where.push(clause(ph(params.length)));
  };
  if (query.from !== undefined) add((p) => `day >= ${p}`, query.from);
  if (query.to !== undefined) add((p) => `day <= ${p}`, query.to);
  if (query.accountId !== undefined) add((p) => `account_id = ${p}`, query.accountId);
  const groupCols = query.groupBy.map((d) => snake(dimensionColumn[d]));
  const whereSql = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  const groupSql = groupCols.length === 0 ? '' : `GROUP BY ${groupCols.join(', ')}`;
  const sums = counterColumnNames.map((c) => `COALESCE(SUM(${c}), 0) AS ${c}`);
  const rowsSql = `SELECT ${[...groupCols, ...sums].join(', ')} FROM ${table} ${whereSql} ${groupSql}
    ${groupCols.length === 0 ? '' : `ORDER BY ${groupCols.join(', ')}`} LIMIT ${ph(params.length + 1)} OFFSET ${ph(params.length + 2)}`;
  // Without grouping the answer is always one total row (zeros when nothing matched).
  const countSql = groupCols.length === 0 ? 'SELECT 1 AS n' : `SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM ${table} ${whereSql} ${groupSql}) AS g`;
  return { rowsSql, rowsParams: [...params, query.limit, query.offset], countSql, countParams: params };
};

/** Turns a result row (snake_case, counters possibly as strings from PostgreSQL) into a UsageGroup. */
export const groupOf = (record: Record<string, unknown>, query: UsageQuery): UsageGroup => {
  const group: Record<string, unknown> = {};
  for (const d of query.groupBy) group[dimensionColumn[d]] = record[snake(dimensionColumn[d])];
  for (const c of usageCounters) group[c] = Number(record[snake(c)] ?? 0);
  return group as UsageGroup;
};
