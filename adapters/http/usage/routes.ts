import type { Request, ResponseToolkit } from '@hapi/hapi';
import type { App } from '../../app.js';
import type { UsageDimension, UsageGroup } from '../../../application/projections/usageReadModel.js';
import { dimensionColumn } from '../../../application/projections/usageReadModel.js';
import { usageCounters } from '../../../application/projections/usage.js';
import { credentialsOf } from '../auth.js';
import { commonProblems, problemResponse } from '../openapi.js';
import { problem } from '../problems.js';
import type { RouteDefinition } from '../route.js';
import { defineRoute } from '../route.js';
import { UsageAnswerSchema, UsageCsvSchema, UsageQueryCodec } from './codecs.js';
import type { UsageQueryInput } from './codecs.js';
import { toCsv } from './csv.js';

/**
 * GET /api/usage (admins and auditors: every account) and GET /api/usage/me
 * (the caller's own account), from the usage projection. JSON by default,
 * CSV with `Accept: text/csv`; paged with `limit`/`offset` and a `next` link;
 * every answer says the ledger position it reflects.
 */
const DAY_MS = 86_400_000;
const DEFAULT_SPAN_DAYS = 30;
const MAX_SPAN_DAYS = 3660;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const rangeOf = (query: UsageQueryInput, now: number): { from: string; to: string } => {
  const to = query.to ?? dayOf(now);
  const from = query.from ?? dayOf(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_SPAN_DAYS - 1) * DAY_MS);
  if (from > to) throw problem(400, 'invalid-request', 'Invalid request', '`from` is after `to`.');
  if (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`) > MAX_SPAN_DAYS * DAY_MS) {
    throw problem(400, 'invalid-request', 'Invalid request', `The range spans more than ${MAX_SPAN_DAYS} days.`);
  }
  return { from, to };
};

const wantsCsv = (request: Request): boolean => /\btext\/csv\b/i.test(String(request.headers['accept'] ?? ''));

const answer = async (app: App, request: Request, h: ResponseToolkit, query: UsageQueryInput, path: string, accountId?: string) => {
  const { from, to } = rangeOf(query, app.clock.now());
  const groupBy: UsageDimension[] = query.groupBy ?? ['day'];
  const limit = query.limit ?? 100;
  const offset = query.offset ?? 0;
  // The status is read before the query: the rows reflect at least this position.
  const status = app.usage.runner.status();
  const page = await app.usage.model.query({ from, to, groupBy, limit, offset, ...(accountId === undefined ? {} : { accountId }) });
  const nextOffset = offset + page.rows.length;
  const params = new URLSearchParams({ from, to, groupBy: groupBy.join(','), limit: String(limit), offset: String(nextOffset) });
  const next = nextOffset < page.total ? `${path}?${params.toString()}` : undefined;
  const columns = [...groupBy.map((d) => dimensionColumn[d]), ...usageCounters];
  const response = wantsCsv(request)
    ? h.response(toCsv(columns, page.rows)).type('text/csv; charset=utf-8')
    : h.response({ position: status.position, lagEvents: status.lagEvents, from, to, groupBy, rows: page.rows.map((r: UsageGroup) => r), total: page.total, ...(next === undefined ? {} : { next }) });
  response.header('X-Projection-Position', String(status.position)).header('Cache-Control', 'no-store').header('Vary', 'Accept');
  if (next !== undefined) response.header('Link', `<${next}>; rel="next"`);
  return response;
};

const isAnalyst = async (app: App, userId: string): Promise<boolean> => {
  const { roles } = await app.access.describe(userId);
  return roles.includes('admin') || roles.includes('auditor');
};

const responses = (who: string) => ({
  '200': {
    description: `Usage ${who}, grouped and paged. The X-Projection-Position header (and \`position\`) is the ledger position reflected.`,
    schema: UsageAnswerSchema,
    alternatives: { 'text/csv': UsageCsvSchema },
    headers: { 'X-Projection-Position': { description: 'Global ledger position the answer reflects.', schema: { type: 'integer' } } },
  },
  ...commonProblems(),
});

export const usageRoutes = (app: App): RouteDefinition[] => [
  defineRoute({
    method: 'GET',
    path: '/api/usage',
    operationId: 'getUsage',
    summary: 'Usage analytics of every account (admins, auditors)',
    description:
      'Requests, outcomes (completed, stopped, failed), tokens, video seconds and credits held, charged and refunded, per UTC day, grouped by any of account, apiKey, model, provider, service, day. From the usage projection; `Accept: text/csv` for CSV.',
    tags: ['usage'],
    security: ['bearerJwt'],
    query: UsageQueryCodec,
    responses: { ...responses('of every account'), '403': problemResponse('The caller is neither admin nor auditor.') },
    handler: async ({ query, request, h }) => {
      const caller = credentialsOf(request);
      if (!(await isAnalyst(app, caller.userId))) throw problem(403, 'forbidden', 'Forbidden', 'The admin or auditor role is required.');
      return answer(app, request, h, query, '/api/usage');
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/usage/me',
    operationId: 'getMyUsage',
    summary: "The caller's own usage",
    description: 'The same rows as /api/usage, restricted to the account of the token\'s subject.',
    tags: ['usage'],
    security: ['bearerJwt'],
    query: UsageQueryCodec,
    responses: responses('of the caller\'s account'),
    handler: ({ query, request, h }) => answer(app, request, h, query, '/api/usage/me', credentialsOf(request).userId),
  }),
];
