import type { UsageGroup } from '../../../application/projections/usageReadModel.js';

/** RFC 4180 CSV of usage groups; a field with a comma, quote or line break is quoted, quotes doubled. */
const field = (value: unknown): string => {
  const text = value === undefined || value === null ? '' : String(value);
  // A leading =, +, - or @ would be a formula in a spreadsheet: prefix it so a model name cannot run as one.
  const safe = /^[=+\-@]/.test(text) && !/^-?\d+$/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export const toCsv = (columns: readonly string[], rows: readonly UsageGroup[]): string =>
  [columns.join(','), ...rows.map((row) => columns.map((c) => field((row as Record<string, unknown>)[c])).join(','))].join('\r\n') + '\r\n';
