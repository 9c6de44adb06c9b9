import type { App } from '../../app.js';

/**
 * Liveness and readiness. Live: the process answers. Ready: the event store
 * answers a read and, when REDIS_URL is set, Redis answers PING, each within
 * a short timeout. Providers are reported (kind real/scripted, breaker state)
 * but do not make the service unready: it still serves credits without them.
 */
export type CheckResult = { readonly ok: boolean; readonly latencyMs: number; readonly error?: string };

const PROBE_TIMEOUT_MS = 1500;

const timed = async (probe: () => Promise<unknown>, timeoutMs = PROBE_TIMEOUT_MS): Promise<CheckResult> => {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
};

/** Reads at most one event from the global log: proves the store answers without scanning it. */
const probeStore = (app: App) => async () => {
  const iterator = app.store.readAll({ maxCount: 1 })[Symbol.asyncIterator]();
  try {
    await iterator.next();
  } finally {
    await iterator.return?.();
  }
};

export const providerStatus = (app: App) =>
  app.llm.router.status().map((p) => ({
    name: p.name,
    kind: p.kind,
    // The circuit breaker is the only thing that makes a configured provider unavailable.
    breaker: p.available ? 'closed' : 'open',
    inFlight: p.inFlight,
    models: p.models,
  }));

export const health = async (app: App, startedAtMs: number) => {
  const [store, redis] = await Promise.all([
    timed(probeStore(app)),
    app.redis === undefined ? Promise.resolve(undefined) : timed(() => app.redis!.ping()),
  ]);
  const ready = store.ok && (redis === undefined || redis.ok);
  const providers = providerStatus(app);
  const background = app.supervisor.state();
  // A background task that keeps failing (store trouble) degrades the service without making it unready.
  const degraded = providers.some((p) => p.breaker === 'open') || background.tasks.some((t) => t.consecutiveFailures > 0);
  return {
    status: !ready ? 'unavailable' : degraded ? 'degraded' : 'ok',
    live: true,
    ready,
    uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
    checks: {
      store: { kind: app.store.kind, ...store },
      redis: redis === undefined ? { configured: false } : { configured: true, ...redis },
      sessions: { kind: app.sessions.kind },
      limiter: { kind: app.limiter.kind },
      tokens: { kind: app.verifier.kind },
      providers,
    },
    background,
  };
};
