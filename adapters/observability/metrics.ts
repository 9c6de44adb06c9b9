import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RecordedEvent } from '../../application/ports/eventStore.js';
import type { UsageBatch } from '../../application/projections/usage.js';

/**
 * The gateway's Prometheus metrics, in one Registry per App (tests build
 * several Apps in one process). Money metrics are derived from the ledger's
 * event stream through the usage projection's committed batches, so a
 * WebSocket completion and a REST deduction count alike and the counters
 * agree with `/api/usage`. Names follow Prometheus conventions: base units,
 * `_total` on counters, no unit-less gauges named like counters.
 */
export type WsObserver = {
  readonly connectionOpened: () => void;
  readonly connectionClosed: () => void;
  readonly streamStarted: () => void;
  readonly streamEnded: (end: { readonly outcome: string; readonly provider: string; readonly firstChunkMs: number | null; readonly durationMs: number }) => void;
};

export type GaugeSources = {
  /** The usage projection: position, lag (events and ms). */
  projection?: () => { readonly position: number; readonly lagEvents: number; readonly lagMs: number };
  /** Holds the projection knows to be open. */
  holds?: () => Promise<{ readonly count: number; readonly credits: number }>;
  /** Breaker state per provider (true = open). */
  breakers?: () => readonly { readonly provider: string; readonly open: boolean }[];
  /** Background tasks (sweeper, subscriptions, poller) and counts of pending work, from the supervisor (application/supervisor.ts). */
  background?: () => { readonly tasks: readonly BackgroundTask[]; readonly items: Readonly<Record<string, number>> };
};

export type BackgroundTask = {
  readonly name: string;
  readonly lastSuccessAtMs: number | undefined;
  readonly consecutiveFailures: number;
  readonly lagSeconds?: number;
};

const secondsBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export const makeMetrics = (build: { readonly version: string; readonly node: string; readonly store: string }) => {
  const registry = new Registry();
  const registers = [registry];
  const sources: GaugeSources = {};

  new Gauge({ name: 'ledger_build_info', help: 'Build information; the value is always 1.', labelNames: ['version', 'node', 'store'] as const, registers }).set(build, 1);

  const wsConnections = new Gauge({ name: 'ws_connections', help: 'Open WebSocket connections.', registers });
  const wsStreams = new Gauge({ name: 'ws_streams_in_flight', help: 'Completion streams running on the WebSocket gateway.', registers });
  const ttfc = new Histogram({ name: 'ws_time_to_first_chunk_seconds', help: 'Time from a completion request to its first chunk, by provider.', labelNames: ['provider'] as const, buckets: secondsBuckets, registers });
  const duration = new Histogram({ name: 'ws_stream_duration_seconds', help: 'Duration of WebSocket completion streams, by outcome.', labelNames: ['outcome'] as const, buckets: secondsBuckets, registers });

  const completions = new Counter({ name: 'ledger_completions_total', help: 'Metered requests that ended, by provider, model and outcome (completed, stopped, failed), from the ledger events.', labelNames: ['service', 'provider', 'model', 'outcome'] as const, registers });
  const requests = new Counter({ name: 'ledger_requests_total', help: 'Metered requests started (holds and direct deductions), by service, from the ledger events.', labelNames: ['service'] as const, registers });
  const tokens = new Counter({ name: 'ledger_tokens_total', help: 'Model tokens settled, by service and direction (input, output), from the ledger events.', labelNames: ['service', 'direction'] as const, registers });
  const videoSeconds = new Counter({ name: 'ledger_video_seconds_total', help: 'Seconds of video settled, from the ledger events.', labelNames: ['service'] as const, registers });
  const charged = new Counter({ name: 'credits_charged_total', help: 'Credits charged (settlements and deductions), by service, over WebSocket and REST alike, from the ledger events.', labelNames: ['service'] as const, registers });
  const held = new Counter({ name: 'credits_held_total', help: 'Credits put on hold, by service, from the ledger events.', labelNames: ['service'] as const, registers });
  const refunded = new Counter({ name: 'credits_refunded_total', help: 'Credits refunded on deductions, by service, from the ledger events.', labelNames: ['service'] as const, registers });
  const fallbacks = new Counter({ name: 'llm_fallbacks_total', help: 'Requests that took a second hold on another provider after the first failed, by the provider fallen back to.', labelNames: ['provider'] as const, registers });

  const openHolds = { count: 0, credits: 0 };
  new Gauge({
    name: 'ledger_holds_open',
    help: 'Holds not yet settled, released or expired, as the usage projection knows them.',
    registers,
    async collect() {
      if (sources.holds !== undefined) Object.assign(openHolds, await sources.holds());
      this.set(openHolds.count);
    },
  });
  new Gauge({ name: 'ledger_held_credits', help: 'Credits on open holds, as the usage projection knows them.', registers, collect() { this.set(openHolds.credits); } });
  new Gauge({ name: 'projection_position', help: 'Global position the usage projection has committed (-1 before the first event).', labelNames: ['projection'] as const, registers, collect() { const s = sources.projection?.(); if (s !== undefined) this.set({ projection: 'usage' }, s.position); } });
  new Gauge({ name: 'projection_lag_events', help: 'Events appended but not yet committed by the projection.', labelNames: ['projection'] as const, registers, collect() { const s = sources.projection?.(); if (s !== undefined) this.set({ projection: 'usage' }, s.lagEvents); } });
  new Gauge({ name: 'projection_lag_seconds', help: 'Age of the oldest event the projection has seen but not committed.', labelNames: ['projection'] as const, registers, collect() { const s = sources.projection?.(); if (s !== undefined) this.set({ projection: 'usage' }, s.lagMs / 1000); } });
  new Gauge({ name: 'llm_breaker_open', help: 'Circuit breaker state per provider: 1 open, 0 closed.', labelNames: ['provider'] as const, registers, collect() { for (const b of sources.breakers?.() ?? []) this.set({ provider: b.provider }, b.open ? 1 : 0); } });
  backgroundGauges(registry, sources);

  // A request id seen on a hold: a second hold for the same request is a fallback to another provider. Bounded.
  const seenRequests = new Map<string, string>();
  const observeFallbacks = (events: readonly RecordedEvent[]) => {
    for (const event of events) {
      if (event.type !== 'CreditsReserved') continue;
      const purpose = event.data['purpose'] as { requestId?: string; provider?: string } | undefined;
      if (purpose?.requestId === undefined) continue;
      const key = `${event.streamName}/${purpose.requestId}`;
      if (seenRequests.has(key)) fallbacks.inc({ provider: purpose.provider ?? 'unknown' });
      seenRequests.set(key, purpose.provider ?? '');
      if (seenRequests.size > 10_000) seenRequests.delete(seenRequests.keys().next().value as string);
    }
  };

  const ws: WsObserver = {
    connectionOpened: () => wsConnections.inc(),
    connectionClosed: () => wsConnections.dec(),
    streamStarted: () => wsStreams.inc(),
    streamEnded: (end) => {
      wsStreams.dec();
      if (end.firstChunkMs !== null) ttfc.observe({ provider: end.provider || 'unknown' }, end.firstChunkMs / 1000);
      duration.observe({ outcome: end.outcome }, end.durationMs / 1000);
    },
  };

  /** Adds a committed projection batch to the money counters. */
  const usage = (batch: UsageBatch, events: readonly RecordedEvent[]) => {
    for (const row of batch.deltas) {
      const service = row.service;
      const labels = { service, provider: row.provider || 'none', model: row.model || 'none' };
      if (row.completed > 0) completions.inc({ ...labels, outcome: 'completed' }, row.completed);
      if (row.stopped > 0) completions.inc({ ...labels, outcome: 'stopped' }, row.stopped);
      if (row.failed > 0) completions.inc({ ...labels, outcome: 'failed' }, row.failed);
      if (row.requests > 0) requests.inc({ service }, row.requests);
      if (row.inputTokens > 0) tokens.inc({ service, direction: 'input' }, row.inputTokens);
      if (row.outputTokens > 0) tokens.inc({ service, direction: 'output' }, row.outputTokens);
      if (row.videoSeconds > 0) videoSeconds.inc({ service }, row.videoSeconds);
      if (row.creditsCharged > 0) charged.inc({ service }, row.creditsCharged);
      if (row.creditsHeld > 0) held.inc({ service }, row.creditsHeld);
      if (row.creditsRefunded > 0) refunded.inc({ service }, row.creditsRefunded);
    }
    observeFallbacks(events);
  };

  return {
    registry,
    ws,
    usage,
    /** Plugs in what the gauges read at scrape time. */
    setSources: (more: GaugeSources) => Object.assign(sources, more),
  };
};

/** Background task gauges (sweeper, subscriptions): last success, consecutive failures, lag. */
const backgroundGauges = (registry: Registry, sources: GaugeSources) => {
  const registers = [registry];
  const tasks = () => sources.background?.().tasks ?? [];
  new Gauge({ name: 'background_task_last_success_timestamp_seconds', help: 'When a background task last succeeded (Unix time).', labelNames: ['task'] as const, registers, collect() { for (const t of tasks()) if (t.lastSuccessAtMs !== undefined) this.set({ task: t.name }, t.lastSuccessAtMs / 1000); } });
  new Gauge({ name: 'background_task_consecutive_failures', help: 'Failures of a background task since its last success.', labelNames: ['task'] as const, registers, collect() { for (const t of tasks()) this.set({ task: t.name }, t.consecutiveFailures); } });
  new Gauge({ name: 'background_task_lag_seconds', help: 'How far a background task is behind (a loop: time since its last success; a subscription: age of the last event it handled).', labelNames: ['task'] as const, registers, collect() { for (const t of tasks()) if (t.lagSeconds !== undefined) this.set({ task: t.name }, t.lagSeconds); } });
  new Gauge({ name: 'background_pending_items', help: 'Background work waiting, by kind (pending settlements, tracked accounts, running video jobs).', labelNames: ['kind'] as const, registers, collect() { for (const [kind, value] of Object.entries(sources.background?.().items ?? {})) this.set({ kind }, value); } });
};

export type Metrics = ReturnType<typeof makeMetrics>;
