import type { UsageGroup, UsagePage, UsageQuery } from '../../application/projections/usageReadModel.js';
import { dimensionColumn } from '../../application/projections/usageReadModel.js';
import type { UsageRow } from '../../application/projections/usage.js';
import { addCounts, usageCounters, zeroCounts } from '../../application/projections/usage.js';

/**
 * Filters and groups rows in memory, with the same ordering the SQL read
 * models use (by the grouped dimensions, in order), so every read model
 * answers a query identically.
 */
export const inRange = (row: UsageRow, query: UsageQuery): boolean =>
  (query.from === undefined || row.day >= query.from) &&
  (query.to === undefined || row.day <= query.to) &&
  (query.accountId === undefined || row.accountId === query.accountId);

export const groupRows = (rows: Iterable<UsageRow>, query: UsageQuery): UsagePage => {
  const columns = query.groupBy.map((d) => dimensionColumn[d]);
  const groups = new Map<string, UsageGroup>();
  for (const row of rows) {
    if (!inRange(row, query)) continue;
    const id = JSON.stringify(columns.map((c) => row[c]));
    const before = groups.get(id);
    const counts = addCounts(before ?? zeroCounts, row);
    const dims = Object.fromEntries(columns.map((c) => [c, row[c]]));
    groups.set(id, { ...dims, ...Object.fromEntries(usageCounters.map((c) => [c, counts[c]])) } as UsageGroup);
  }
  // Without grouping the answer is always one total row (zeros when nothing matched).
  if (columns.length === 0 && groups.size === 0) groups.set('[]', { ...zeroCounts });
  const sorted = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
  return { rows: sorted.slice(query.offset, query.offset + query.limit), total: sorted.length };
};
