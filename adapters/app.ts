import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Redis } from 'ioredis';
import type { ApiKeys } from '../application/apiKeys/keys.js';
import { makeApiKeys } from '../application/apiKeys/keys.js';
import type { MeteredWithKey } from '../application/apiKeys/meteredWithKey.js';
import { makeMeteredWithKey } from '../application/apiKeys/meteredWithKey.js';
import { makeLedger } from '../application/credits/ledger.js';
import type { Ledger } from '../application/credits/ledger.js';
import { makeSweeper } from '../application/credits/sweeper.js';
import type { Sweeper } from '../application/credits/sweeper.js';
import { makeMeteredCompletion } from '../application/gateway/meteredCompletion.js';
import type { MeteredCompletion } from '../application/gateway/meteredCompletion.js';
import { makeAccessControl } from '../application/permissions/access.js';
import type { AccessControl } from '../application/permissions/access.js';
import type { Clock, Ids } from '../application/ports/clock.js';
import type { EventStore } from '../application/ports/eventStore.js';
import type { ProviderSelector } from '../application/ports/providerSelector.js';
import type { RateLimiter } from '../application/ports/rateLimiter.js';
import { perMinute } from '../application/ports/rateLimiter.js';
import type { SessionStore } from '../application/ports/sessionStore.js';
import type { TokenVerifier } from '../application/ports/tokenVerifier.js';
import { makeProjectionRunner } from '../application/projections/catchUp.js';
import type { ProjectionRunner } from '../application/projections/catchUp.js';
import type { UsageReadModel } from '../application/projections/usageReadModel.js';
import { guardEventStore } from '../application/storeOutage.js';
import type { Supervisor } from '../application/supervisor.js';
import { makeSupervisor } from '../application/supervisor.js';
import { makeJwtVerifier } from './auth/jwtVerifier.js';
import type { Config } from './config.js';
import { hashedReadsOf, openEventStore } from './eventstore/fromUrl.js';
import { makeInProcessRateLimiter, makeInProcessSessionStore } from './inprocess/index.js';
import type { LlmSetup } from './llm/providersFromEnv.js';
import { makeProvidersFromEnv } from './llm/providersFromEnv.js';
import { makeTextTokenCounter } from './llm/tokenizer.js';
import type { AppLogger } from './logging.js';
import { makeRedisClient, redisReady } from './redis/redisClient.js';
import { makeRedisRateLimiter } from './redis/redisRateLimiter.js';
import { makeRedisSessionStore } from './redis/redisSessionStore.js';
import { systemClock, systemIds } from './system/clockAndIds.js';
import { startLedgerLog, type RunningLedgerLog } from './ledger/runLedgerLog.js';
import { devSecretPath, loadOrCreateDevSecret } from './system/devSecret.js';
import { causeOf, StartupError, withoutPassword } from './system/startupError.js';
import { cryptoSecrets } from './system/secrets.js';
import { instrumentRateLimiter } from './observability/instrumentLimiter.js';
import { instrumentEventStore } from './observability/instrumentStore.js';
import { makeLlmMetrics } from './observability/llmMetrics.js';
import type { Metrics } from './observability/metrics.js';
import { makeMetrics } from './observability/metrics.js';
import { installTracing } from './observability/tracing.js';
import { makeMemoryUsageReadModel } from './projections/memoryUsageReadModel.js';
import { openUsageReadModel } from './projections/fromStoreUrl.js';
import { packageVersion } from './observability/buildInfo.js';

/**
 * Everything the network adapters (REST, WebSocket) need, built once from the
 * configuration. This module and adapters/main.ts are the only ones that know
 * which adapter backs which port.
 */
export type App = {
  readonly config: Config;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: AppLogger;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly store: EventStore;
  readonly ledger: Ledger;
  readonly access: AccessControl;
  readonly limiter: RateLimiter;
  readonly sessions: SessionStore;
  readonly verifier: TokenVerifier;
  /** The HS256 secret in use (generated in dev when none is configured), for minting dev tokens. */
  readonly jwtSecret: string | undefined;
  /** Set when the secret is a generated development one: where it is kept (undefined: this run only). */
  readonly devSecret: { readonly file: string | undefined } | undefined;
  readonly llm: LlmSetup;
  readonly select: ProviderSelector;
  readonly completion: MeteredCompletion;
  /** API keys and the metered completion paid through one (the compatible APIs, key-authenticated sockets). */
  readonly keys: ApiKeys;
  readonly keyed: MeteredWithKey;
  readonly sweeper: Sweeper;
  /** Background work (sweeper, subscriptions, video poller, pending settlements) and its state for /health and /metrics. */
  readonly supervisor: Supervisor;
  readonly redis: Redis | undefined;
  /** The Merkle log over the global order, its checkpoints and proofs (docs/audit.md). */
  readonly ledgerLog: RunningLedgerLog;
  /** Prometheus metrics beyond HTTP's (adapters/observability/metrics.ts). */
  readonly metrics: Metrics;
  /** The usage analytics projection: its read model and catch-up runner. */
  readonly usage: { readonly model: UsageReadModel; readonly runner: ProjectionRunner };
  readonly close: () => Promise<void>;
};

export type AppOverrides = {
  readonly clock?: Clock;
  readonly ids?: Ids;
  readonly store?: EventStore;
  readonly llmResilience?: Parameters<typeof makeProvidersFromEnv>[2];
  /** Defaults to the store family's read model (memory when `store` is overridden). */
  readonly usageReadModel?: UsageReadModel;
};

type VerifierSetup = { verifier: TokenVerifier; secret: string | undefined; devSecret: { file: string | undefined } | undefined };

const verifierFor = (config: Config): VerifierSetup => {
  const common = {
    ...(config.JWT_ISSUER === undefined ? {} : { issuer: config.JWT_ISSUER }),
    ...(config.JWT_AUDIENCE === undefined ? {} : { audience: config.JWT_AUDIENCE }),
    maxLifetimeS: config.JWT_MAX_LIFETIME,
  };
  if (config.JWT_JWKS_URL !== undefined) return { verifier: makeJwtVerifier({ mode: 'jwks', jwksUrl: config.JWT_JWKS_URL, ...common }), secret: undefined, devSecret: undefined };
  if (config.JWT_SECRET !== undefined) return { verifier: makeJwtVerifier({ mode: 'hs256', secret: config.JWT_SECRET, ...common }), secret: config.JWT_SECRET, devSecret: undefined };
  // Development only (production refuses to start without a key): the secret
  // goes to a file of mode 0600, never to a log; main.ts prints its path once
  // the service is up.
  const path = devSecretPath(config.EVENT_STORE);
  try {
    if (path !== undefined) mkdirSync(dirname(path), { recursive: true });
    const { secret, file } = loadOrCreateDevSecret(path);
    return { verifier: makeJwtVerifier({ mode: 'hs256', secret, ...common }), secret, devSecret: { file } };
  } catch (error) {
    throw new StartupError(`JWT_SECRET is not set and the development secret file ${path ?? ''} cannot be written (${causeOf(error)}); set JWT_SECRET`);
  }
};

const connectRedis = async (config: Config, logger: AppLogger): Promise<Redis> => {
  const url = config.REDIS_URL as string;
  // Failed attempts before the first connection are summed up by the one
  // start-up error below rather than logged one by one.
  let connected = false;
  const redis = makeRedisClient(url, {
    connectTimeoutMs: Math.min(config.STORE_CONNECT_TIMEOUT_MS, 1000),
    onError: (error: Error) => {
      if (connected) logger.warn({ err: error.message }, 'redis error');
    },
  });
  try {
    await redisReady(redis, config.STORE_CONNECT_TIMEOUT_MS);
    connected = true;
    return redis;
  } catch {
    redis.disconnect();
    throw new StartupError(`REDIS_URL ${withoutPassword(url)}: not reachable within ${config.STORE_CONNECT_TIMEOUT_MS} ms (STORE_CONNECT_TIMEOUT_MS)`);
  }
};

export const buildApp = async (
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  logger: AppLogger,
  overrides: AppOverrides = {},
): Promise<App> => {
  const clock = overrides.clock ?? systemClock;
  const ids = overrides.ids ?? systemIds;
  installTracing(env, packageVersion());
  const rawStore = overrides.store ?? (await openEventStore(config.EVENT_STORE, { connectTimeoutMs: config.STORE_CONNECT_TIMEOUT_MS }));
  const metrics = makeMetrics({ version: packageVersion(), node: process.version, store: rawStore.kind });
  const llmMetrics = makeLlmMetrics(metrics.registry);
  const llm = makeProvidersFromEnv(env, logger, { ...overrides.llmResilience, hooks: llmMetrics.hooks, instrument: llmMetrics.instrument });
  if (E.isLeft(llm)) {
    await rawStore.close();
    throw new Error(`invalid LLM configuration: ${llm.left.variable} ${llm.left.message}`);
  }
  // The projection runner is built after the store it reads; appends tell it the head once it exists.
  const heads: { observe?: (position: number) => void } = {};
  // Every store failure reaches the application as one typed outage (503 / SERVICE_UNAVAILABLE).
  const store = guardEventStore(instrumentEventStore(rawStore, metrics.registry, (position) => heads.observe?.(position)));
  const supervisor = makeSupervisor({ clock, ids, logger });
  const ledgerLog = await startLedgerLog(config, env, store, logger, supervisor, hashedReadsOf(rawStore)).catch(async (error: unknown) => {
    if (overrides.store === undefined) await store.close();
    throw error;
  });
  const limits = perMinute(config.RATE_LIMIT_REQUESTS_PER_MIN, config.RATE_LIMIT_TOKENS_PER_MIN);
  let redis: Redis | undefined;
  let limiter: RateLimiter;
  let sessions: SessionStore;
  if (config.REDIS_URL !== undefined) {
    redis = await connectRedis(config, logger).catch(async (error: unknown) => {
      await store.close().catch(() => undefined);
      throw error;
    });
    limiter = makeRedisRateLimiter({ redis, prefix: `${config.REDIS_PREFIX}rl:`, limits });
    sessions = makeRedisSessionStore({ redis, prefix: `${config.REDIS_PREFIX}s:` });
  } else {
    limiter = makeInProcessRateLimiter({ limits, now: clock.now });
    sessions = makeInProcessSessionStore({ now: clock.now });
  }
  limiter = instrumentRateLimiter(limiter, metrics.registry);
  let setup: VerifierSetup;
  try {
    setup = verifierFor(config);
  } catch (error) {
    await store.close().catch(() => undefined);
    await redis?.quit().catch(() => undefined);
    throw error;
  }
  const { verifier, secret, devSecret } = setup;
  const ledger = makeLedger({ store, clock, ids });
  const access = makeAccessControl({ store, clock, ids });
  const router = llm.right.router;
  const select: ProviderSelector = (preference, model) => {
    const plan = router.plan({ model, messages: [], maxTokens: 1 }, preference);
    return E.isLeft(plan) ? [] : plan.right.map((c) => ({ provider: c.provider, model: c.request.model }));
  };
  const completion = makeMeteredCompletion({
    ledger,
    access,
    limiter,
    select,
    prices: () => llm.right.prices.current(),
    clock,
    ids,
    logger,
    holdTtlMs: config.HOLD_TTL_MS,
    progressMs: config.HOLD_PROGRESS_MS,
    streamMaxMs: config.STREAM_MAX_MS,
    supervisor,
    outputCounter: makeTextTokenCounter,
  });
  const keys = makeApiKeys({ store, clock, ids, secrets: cryptoSecrets });
  const keyed = makeMeteredWithKey({ completion, keys, select, prices: () => llm.right.prices.current(), limiter, ids, logger, holdTtlMs: config.HOLD_TTL_MS });
  const sweeper = makeSweeper({ store, ledger, clock, logger, intervalMs: config.SWEEP_INTERVAL_MS, holdGraceMs: config.HOLD_EXPIRY_GRACE_MS, supervisor });
  await sweeper.start();
  const usageModel = overrides.usageReadModel ?? (overrides.store !== undefined ? makeMemoryUsageReadModel() : await openUsageReadModel(config.EVENT_STORE));
  const usageRunner = makeProjectionRunner({ store: rawStore, model: usageModel, logger, now: clock.now, onCommitted: metrics.usage });
  heads.observe = usageRunner.observeHead;
  metrics.setSources({
    projection: () => usageRunner.status(),
    holds: () => usageModel.openHolds(),
    breakers: () => llm.right.router.status().map((p) => ({ provider: p.name, open: !p.available })),
    background: () => {
      const state = supervisor.state();
      return {
        tasks: state.tasks.map((t) => ({ name: t.name, lastSuccessAtMs: t.lastSuccessAt, consecutiveFailures: t.consecutiveFailures, lagSeconds: t.lagMs / 1000 })),
        items: state.gauges,
      };
    },
  });
  // Catch-up runs in the background: a long history must not delay serving; answers say the position they reflect.
  const usageStarted = usageRunner.start().catch((error: unknown) => logger.error({ err: (error as Error).message }, 'usage projection failed to start'));
  return {
    config,
    env,
    logger,
    clock,
    ids,
    store,
    ledger,
    access,
    limiter,
    sessions,
    verifier,
    jwtSecret: secret,
    devSecret,
    llm: llm.right,
    select,
    completion,
    keys,
    keyed,
    sweeper,
    supervisor,
    redis,
    ledgerLog,
    metrics,
    usage: { model: usageModel, runner: usageRunner },
    /**
     * Stops every part even when one of them fails (the store is closed whatever a follower's last
     * error was); the first failure is rethrown at the end, after every part had its turn.
     */
    close: async () => {
      const steps: readonly (readonly [string, () => Promise<unknown>])[] = [
        ['usage projection', () => usageRunner.stop()],
        ['usage projection start', () => usageStarted],
        ['usage read model', () => usageModel.close()],
        ['sweeper', () => sweeper.stop()],
        ['ledger log', () => ledgerLog.stop()],
        ['event store', () => store.close()],
        ['redis', () => (redis === undefined ? Promise.resolve() : redis.quit())],
      ];
      let first: unknown;
      for (const [part, step] of steps) {
        try {
          await step();
        } catch (error) {
          logger.error({ part, err: (error as Error).message }, 'shutdown: a part failed to stop');
          if (part !== 'redis') first ??= error;
        }
      }
      if (first !== undefined) throw first;
    },
  };
};
