import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';

/**
 * W3C Trace Context (`traceparent`, `tracestate`) on @opentelemetry/api
 * alone. @opentelemetry/core has one too, but it is only a transitive
 * dependency here; this is the version-00 format, which is all we accept.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export const w3cTraceContext: TextMapPropagator = {
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter) {
    const span = trace.getSpan(ctx);
    if (span === undefined) return;
    const c = span.spanContext();
    if (!isSpanContextValid(c)) return;
    setter.set(carrier, 'traceparent', `00-${c.traceId}-${c.spanId}-0${Number(c.traceFlags & TraceFlags.SAMPLED).toString(16)}`);
    const state = c.traceState?.serialize();
    if (state !== undefined && state !== '') setter.set(carrier, 'tracestate', state);
  },
  extract(ctx: Context, carrier: unknown, getter: TextMapGetter) {
    const raw = getter.get(carrier, 'traceparent');
    const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().toLowerCase();
    const match = value === undefined ? null : TRACEPARENT.exec(value);
    if (match === null) return ctx;
    const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
    const spanContext = { traceId, spanId, traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
    return isSpanContextValid(spanContext) ? trace.setSpanContext(ctx, spanContext) : ctx;
  },
  fields: () => ['traceparent', 'tracestate'],
};
