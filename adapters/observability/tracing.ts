import type { Context, Span } from '@opentelemetry/api';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorageContextManager } from './contextManager.js';
import { w3cTraceContext } from './traceContext.js';

/**
 * Tracing through @opentelemetry/api: W3C `traceparent` is accepted on REST
 * requests and WebSocket request frames and sent on outgoing provider calls;
 * spans are exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 * Without an endpoint spans are still made (and dropped), so every request
 * has a trace id for its log lines.
 */
export const TRACER = 'credit-ledger-gateway';

let installed: { provider: BasicTracerProvider; exporting: boolean } | undefined;

const patchFetch = () => {
  const original = globalThis.fetch;
  // The provider SDKs (openai, @anthropic-ai/sdk) call the global fetch: the active span's traceparent goes with them.
  globalThis.fetch = (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    if (carrier['traceparent'] === undefined) return original(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    for (const [name, value] of Object.entries(carrier)) if (!headers.has(name)) headers.set(name, value);
    return original(input, { ...init, headers });
  };
};

/** Installs the global tracer provider, propagator and context manager once per process. */
export const installTracing = (env: Readonly<Record<string, string | undefined>>, version: string): { readonly exporting: boolean; readonly shutdown: () => Promise<void> } => {
  if (installed === undefined) {
    const endpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    const spanProcessors: SpanProcessor[] = [];
    if (endpoint !== undefined && endpoint !== '') {
      spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` })));
    }
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': env['OTEL_SERVICE_NAME'] ?? TRACER, 'service.version': version }),
      spanProcessors,
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(w3cTraceContext);
    trace.setGlobalTracerProvider(provider);
    patchFetch();
    installed = { provider, exporting: spanProcessors.length > 0 };
  }
  const current = installed;
  return { exporting: current.exporting, shutdown: () => current.provider.forceFlush() };
};

/** The context a `traceparent` (and `tracestate`) names, or the root context. */
export const contextFrom = (carrier: { readonly traceparent?: unknown; readonly tracestate?: unknown }): Context => {
  const headers: Record<string, string> = {};
  if (typeof carrier.traceparent === 'string') headers['traceparent'] = carrier.traceparent;
  if (typeof carrier.tracestate === 'string') headers['tracestate'] = carrier.tracestate;
  return propagation.extract(ROOT_CONTEXT, headers);
};

export const startSpan = (name: string, parent: Context, kind: SpanKind = SpanKind.SERVER, attributes: Record<string, string | number> = {}): Span =>
  trace.getTracer(TRACER).startSpan(name, { kind, attributes }, parent);

export const endSpan = (span: Span, error?: string): void => {
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
};

/** Runs `fn` with `span` active, so awaits inside (provider calls, logs) see it. */
export const withSpan = <T>(span: Span, fn: () => T): T => context.with(trace.setSpan(context.active(), span), fn);

/** The trace id of the active span, for log lines; undefined outside any span. */
export const activeTraceId = (): string | undefined => {
  const span = trace.getSpan(context.active());
  const id = span?.spanContext().traceId;
  return id === undefined || /^0+$/.test(id) ? undefined : id;
};

export const traceparentOf = (span: Span): string => {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-0${c.traceFlags.toString(16)}`;
};

export { SpanKind };
