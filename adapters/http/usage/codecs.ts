import * as t from 'io-ts';
import type { UsageDimension } from '../../../application/projections/usageReadModel.js';
import { usageDimensions } from '../../../application/projections/usageReadModel.js';
import { usageCounters } from '../../../application/projections/usage.js';
import type { JsonSchema } from '../schema.js';
import { described, intFromString } from '../schema.js';

/** Query and answer shapes of /api/usage and /api/usage/me. */
const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar day: 2026-02-30 is refused, not rolled over to March. */
const isDay = (u: string): boolean => {
  if (!dayPattern.test(u)) return false;
  const ms = Date.parse(`${u}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === u;
};

export const Day = (name: string, description: string) =>
  described(
    new t.Type<string, string, unknown>(
      name,
      (u): u is string => typeof u === 'string',
      (u, c) => (typeof u === 'string' && isDay(u) ? t.success(u) : t.failure(u, c, 'must be a UTC day, YYYY-MM-DD')),
      t.identity,
    ),
    { type: 'string', format: 'date', description },
  );

/** A comma-separated list of distinct dimensions, at most all six. */
export const GroupBy = described(
  new t.Type<UsageDimension[], string, unknown>(
    'GroupBy',
    (u): u is UsageDimension[] => Array.isArray(u),
    (u, c) => {
      if (typeof u !== 'string' || u.length > 100) return t.failure(u, c, `must be a comma-separated list of ${usageDimensions.join(', ')}`);
      const parts = u === '' ? [] : u.split(',').map((p) => p.trim());
      const known = new Set<string>(usageDimensions);
      if (parts.some((p) => !known.has(p)) || new Set(parts).size !== parts.length) return t.failure(u, c, `must be a comma-separated list of distinct ${usageDimensions.join(', ')}`);
      return t.success(parts as UsageDimension[]);
    },
    (dims) => dims.join(','),
  ),
  { type: 'string', pattern: `^(${usageDimensions.join('|')})(,(${usageDimensions.join('|')}))*$`, description: `Dimensions to group by, comma-separated, in order (default "day"): ${usageDimensions.join(', ')}. E.g. "day,model".` },
);

export const UsageQueryCodec = t.partial({
  from: Day('from', 'First UTC day included (YYYY-MM-DD). Default: 30 days before `to`.'),
  to: Day('to', 'Last UTC day included (YYYY-MM-DD). Default: today.'),
  groupBy: GroupBy,
  limit: intFromString('limit', 1, 1000, 'Rows per page, 1 to 1000 (default 100).'),
  offset: intFromString('offset', 0, 10_000_000, 'Rows to skip (follow `next` instead of computing it).'),
});
export type UsageQueryInput = t.TypeOf<typeof UsageQueryCodec>;

const integer = { type: 'integer', minimum: 0 };
const text = { type: 'string' };

export const UsageRowSchema: JsonSchema = {
  type: 'object',
  description: 'One group: the grouped dimensions (only those asked for; "" when a request had none, e.g. no model on a REST deduction) and summed counters.',
  properties: {
    day: { ...text, format: 'date' },
    accountId: text,
    apiKeyId: text,
    service: { type: 'string', enum: ['llm', 'sora2', 'other'] },
    provider: text,
    model: text,
    ...Object.fromEntries(usageCounters.map((c) => [c, integer])),
  },
  required: [...usageCounters],
};

export const UsageAnswerSchema: JsonSchema = {
  type: 'object',
  properties: {
    position: { type: 'integer', description: 'Global ledger position the projection reflects (-1 before the first event).' },
    lagEvents: { type: 'integer', description: 'Events appended but not yet in the projection, as this server knows.' },
    from: { type: 'string', format: 'date' },
    to: { type: 'string', format: 'date' },
    groupBy: { type: 'array', items: { type: 'string', enum: [...usageDimensions] } },
    rows: { type: 'array', items: UsageRowSchema },
    total: { type: 'integer', description: 'Groups in all pages.' },
    next: { type: 'string', description: 'The next page (also in a Link header); absent on the last page.' },
  },
  required: ['position', 'lagEvents', 'from', 'to', 'groupBy', 'rows', 'total'],
};

export const UsageCsvSchema: JsonSchema = {
  type: 'string',
  description: 'RFC 4180 CSV: a header line (grouped dimensions, then counters) and one line per group. The projection position is in the X-Projection-Position header.',
};
