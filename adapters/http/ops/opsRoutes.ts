import type { App } from '../../app.js';
import type { RouteDefinition } from '../route.js';
import { defineRoute } from '../route.js';
import { health, providerStatus } from './health.js';
import type { HttpMetrics } from './metrics.js';
import { exposition } from './metrics.js';

/** /health, /health/live, /stats and /metrics: public, for load balancers and Prometheus. */
export type OpsDeps = {
  readonly app: App;
  readonly metrics: HttpMetrics;
  readonly gatewayStats: () => unknown;
  readonly startedAtMs: number;
};

const objectSchema = (description: string) => ({ type: 'object', description, additionalProperties: true });

export const opsRoutes = (deps: OpsDeps): RouteDefinition[] => [
  defineRoute({
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    summary: 'Liveness and readiness',
    description: 'Ready when the event store (and Redis, if configured) answers. Lists providers with their kind (real or scripted) and circuit-breaker state. 503 when not ready.',
    tags: ['operations'],
    security: [],
    responses: {
      '200': { description: 'Ready (status ok, or degraded when a provider breaker is open).', schema: objectSchema('Health report.') },
      '503': { description: 'Not ready: a dependency does not answer.', schema: objectSchema('Health report.') },
    },
    handler: async ({ h }) => {
      const report = await health(deps.app, deps.startedAtMs);
      return h.response(report).code(report.ready ? 200 : 503).header('Cache-Control', 'no-store');
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/health/live',
    operationId: 'getLiveness',
    summary: 'Liveness only',
    description: 'Always 200 while the process serves HTTP; does not touch any dependency.',
    tags: ['operations'],
    security: [],
    responses: { '200': { description: 'Alive.', schema: objectSchema('{"live": true}') } },
    handler: () => ({ live: true }),
  }),
  defineRoute({
    method: 'GET',
    path: '/stats',
    operationId: 'getStats',
    summary: 'Runtime statistics',
    description: 'WebSocket gateway counters, accounts tracked by the expiry sweeper, store, session store, limiter and provider status.',
    tags: ['operations'],
    security: [],
    responses: { '200': { description: 'Statistics.', schema: objectSchema('Statistics.') } },
    handler: ({ h }) =>
      h
        .response({
          uptimeSeconds: Math.round((Date.now() - deps.startedAtMs) / 1000),
          gateway: deps.gatewayStats(),
          sweeper: { tracked: deps.app.sweeper.tracked() },
          store: { kind: deps.app.store.kind },
          sessions: { kind: deps.app.sessions.kind },
          limiter: { kind: deps.app.limiter.kind },
          providers: providerStatus(deps.app),
        })
        .header('Cache-Control', 'no-store'),
  }),
  defineRoute({
    method: 'GET',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: 'Prometheus text exposition: HTTP requests and latency; credits, tokens, holds and completions from the ledger events; WebSocket connections, streams, time to first chunk; providers, store, projection, rate limits; process metrics. See docs/operations.md.',
    tags: ['operations'],
    security: [],
    responses: { '200': { description: 'Metrics.', contentType: 'text/plain', schema: { type: 'string' } } },
    handler: async ({ h }) => {
      const { text, contentType } = await exposition(deps.metrics.registry, deps.app.metrics.registry, deps.app.usage.runner.flush);
      return h.response(text).type(contentType);
    },
  }),
];
