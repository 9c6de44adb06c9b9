import type { Request, Server } from '@hapi/hapi';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { whenResponseDone } from '../../observability/responseDone.js';

/**
 * Prometheus metrics of one server instance. Each server owns its Registry
 * (never prom-client's global one), so tests and benchmarks can run several
 * servers in one process without "metric already registered" errors.
 */
export type HttpMetrics = {
  readonly registry: Registry;
  /** A ledger command issued through REST and how it ended ("ok", "duplicate", or the error tag). */
  readonly ledgerCommand: (command: string, outcome: string) => void;
  readonly creditsCharged: (service: string, amount: number) => void;
  readonly creditsGranted: (amount: number) => void;
};

export const makeHttpMetrics = (options: { readonly defaultMetrics?: boolean } = {}): HttpMetrics => {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges with _total, which promtool rejects; the per-type gauges without it remain.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const ledger = new Counter({
    name: 'ledger_commands_total',
    help: 'Ledger commands issued through the REST API, by command and outcome.',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
  });
  // credits_charged_total (WebSocket and REST alike) is derived from the ledger events in adapters/observability.
  const charged = new Counter({
    name: 'http_credits_deducted_total',
    help: 'Credits deducted through the REST deduct route, by service.',
    labelNames: ['service'] as const,
    registers: [registry],
  });
  const granted = new Counter({ name: 'http_credits_granted_total', help: 'Credits granted through the REST grant route.', registers: [registry] });
  return {
    registry,
    ledgerCommand: (command, outcome) => ledger.inc({ command, outcome }),
    creditsCharged: (service, amount) => charged.inc({ service }, amount),
    creditsGranted: (amount) => granted.inc(amount),
  };
};

/**
 * The exposition of a server's registry and the application's (money, WebSocket,
 * providers, store, projection), merged at scrape time. The projection's
 * buffered events are committed first, so the money counters are as fresh as
 * the ledger allows.
 */
export const exposition = async (own: Registry, app: Registry, beforeScrape?: () => Promise<void>): Promise<{ text: string; contentType: string }> => {
  await beforeScrape?.().catch(() => undefined);
  const merged = Registry.merge([own, app]);
  return { text: await merged.metrics(), contentType: merged.contentType };
};

/**
 * Counts and times every response by route template (never the raw path,
 * whose user ids would explode the label set) and status.
 */
export const instrumentServer = (server: Server, metrics: HttpMetrics): void => {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [metrics.registry],
  });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics.registry],
  });
  server.events.on('response', (request: Request) => {
    whenResponseDone(request, (done) => {
      // hapi routes unmatched requests to its internal notFound route, whose path is '/{p*}'.
      const labels = { method: request.method.toUpperCase(), route: request.route.path, status: String(done.status ?? 0) };
      requests.inc(labels);
      latency.observe(labels, done.durationMs / 1000);
    });
  });
};
