import { randomBytes } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { Redis } from 'ioredis';
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
import { guardEventStore } from '../application/storeOutage.js';
import type { Supervisor } from '../application/supervisor.js';
import { makeSupervisor } from '../application/supervisor.js';
import { makeJwtVerifier } from './auth/jwtVerifier.js';
import type { Config } from './config.js';
import { openEventStore } from './eventstore/fromUrl.js';
import { makeInProcessRateLimiter, makeInProcessSessionStore } from './inprocess/index.js';
import type { LlmSetup } from './llm/providersFromEnv.js';
import { makeProvidersFromEnv } from './llm/providersFromEnv.js';
import { countTextTokens } from './llm/tokenizer.js';
import type { AppLogger } from './logging.js';
import { makeRedisClient, redisReady } from './redis/redisClient.js';
import { makeRedisRateLimiter } from './redis/redisRateLimiter.js';
import { makeRedisSessionStore } from './redis/redisSessionStore.js';
import { systemClock, systemIds } from './system/clockAndIds.js';
import { startLedgerLog, type RunningLedgerLog } from './ledger/runLedgerLog.js';

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
  readonly llm: LlmSetup;
  readonly select: ProviderSelector;
  readonly completion: MeteredCompletion;
  readonly sweeper: Sweeper;
  /** Background work (sweeper, subscriptions, video poller, pending settlements) and its state for /health and /metrics. */
  readonly supervisor: Supervisor;
  readonly redis: Redis | undefined;
  /** The Merkle log over the global order, its checkpoints and proofs (docs/audit.md). */
  readonly ledgerLog: RunningLedgerLog;
  readonly close: () => Promise<void>;
};

export type AppOverrides = {
  readonly clock?: Clock;
  readonly ids?: Ids;
  readonly store?: EventStore;
  readonly llmResilience?: Parameters<typeof makeProvidersFromEnv>[2];
};

const verifierFor = (config: Config, logger: AppLogger): { verifier: TokenVerifier; secret: string | undefined } => {
  const common = {
    ...(config.JWT_ISSUER === undefined ? {} : { issuer: config.JWT_ISSUER }),
    ...(config.JWT_AUDIENCE === undefined ? {} : { audience: config.JWT_AUDIENCE }),
  };
  if (config.JWT_JWKS_URL !== undefined) return { verifier: makeJwtVerifier({ mode: 'jwks', jwksUrl: config.JWT_JWKS_URL, ...common }), secret: undefined };
  let secret = config.JWT_SECRET;
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    // Printed once so a developer can mint tokens; never in production, where JWT_SECRET or JWT_JWKS_URL is set.
    logger.warn({ devJwtSecret: secret }, 'no JWT_SECRET or JWT_JWKS_URL: generated a development secret for this run');
  }
  return { verifier: makeJwtVerifier({ mode: 'hs256', secret, ...common }), secret };
};

export const buildApp = async (
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  logger: AppLogger,
  overrides: AppOverrides = {},
): Promise<App> => {
  const clock = overrides.clock ?? systemClock;
  const ids = overrides.ids ?? systemIds;
  const llm = makeProvidersFromEnv(env, logger, overrides.llmResilience ?? {});
  if (E.isLeft(llm)) throw new Error(`invalid LLM configuration: ${llm.left.variable} ${llm.left.message}`);
  // Every store failure reaches the application as one typed outage (503 / SERVICE_UNAVAILABLE).
  const store = guardEventStore(overrides.store ?? (await openEventStore(config.EVENT_STORE)));
  const ledgerLog = await startLedgerLog(config, env, store, logger).catch(async (error: unknown) => {
    if (overrides.store === undefined) await store.close();
    throw error;
  });
  const limits = perMinute(config.RATE_LIMIT_REQUESTS_PER_MIN, config.RATE_LIMIT_TOKENS_PER_MIN);
  let redis: Redis | undefined;
  let limiter: RateLimiter;
  let sessions: SessionStore;
  if (config.REDIS_URL !== undefined) {
    redis = makeRedisClient(config.REDIS_URL, { onError: (error: Error) => logger.warn({ err: error.message }, 'redis error') });
    await redisReady(redis);
    limiter = makeRedisRateLimiter({ redis, prefix: `${config.REDIS_PREFIX}rl:`, limits });
    sessions = makeRedisSessionStore({ redis, prefix: `${config.REDIS_PREFIX}s:` });
  } else {
    limiter = makeInProcessRateLimiter({ limits, now: clock.now });
    sessions = makeInProcessSessionStore({ now: clock.now });
  }
  const { verifier, secret } = verifierFor(config, logger);
  const ledger = makeLedger({ store, clock, ids });
  const access = makeAccessControl({ store, clock, ids });
  const router = llm.right.router;
  const select: ProviderSelector = (preference, model) => {
    const plan = router.plan({ model, messages: [], maxTokens: 1 }, preference);
    return E.isLeft(plan) ? [] : plan.right.map((c) => ({ provider: c.provider, model: c.request.model }));
  };
  const supervisor = makeSupervisor({ clock, ids, logger });
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
    countOutputTokens: countTextTokens,
  });
  const sweeper = makeSweeper({ store, ledger, clock, logger, intervalMs: config.SWEEP_INTERVAL_MS, supervisor });
  await sweeper.start();
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
    llm: llm.right,
    select,
    completion,
    sweeper,
    supervisor,
    redis,
    ledgerLog,
    close: async () => {
      await sweeper.stop();
      await ledgerLog.stop();
      await store.close();
      if (redis !== undefined) await redis.quit().catch(() => undefined);
    },
  };
};
