import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { isLimiterUnavailable } from '../../../application/ports/rateLimiter.js';
import { isStoreUnavailable } from '../../../application/ports/sessionStore.js';
import { makeRedisClient, redisReady } from '../../../adapters/redis/redisClient.js';
import { makeRedisRateLimiter } from '../../../adapters/redis/redisRateLimiter.js';
import { makeRedisSessionStore } from '../../../adapters/redis/redisSessionStore.js';
import type { RedisServer } from '../../support/redisServer.js';
import { redisServerAvailable, startRedisServer } from '../../support/redisServer.js';

/**
 * Redis going away under a live adapter: a second redis-server of our own is
 * killed by pid, paused, and restarted on the same port. The adapters must
 * fail fast with their typed errors (never allow), and work again on the same
 * client once Redis is back.
 */
const available = redisServerAvailable();
if (!available && process.env['CI'] === 'true') throw new Error('redis-server binary not found (CI=true: not skipping)');
const describeFault = available ? describe : describe.skip;

const limits = { requests: 1000, tokens: 100_000, windowMs: 60_000 };
const token = { sessionId: 's1', userId: 'u1', expiresAt: 1 };

/** Runs `call`, returning how long it took to settle and what it settled with. */
const timed = async <A>(call: () => Promise<A>) => {
  const started = performance.now();
  const outcome = await call().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return { ...outcome, ms: performance.now() - started };
};

const eventually = async (check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not recovered within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describeFault('Redis outage and recovery (own redis-server, stopped by pid)', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = makeRedisClient(server.url, { commandTimeoutMs: 300 });
    await redisReady(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('killed: every call fails in < 1 s with the typed error; restarted: the same adapters work again', async () => {
    const store = makeRedisSessionStore({ redis, prefix: 'fault:' });
    const limiter = makeRedisRateLimiter({ redis, prefix: 'fault:', limits });
    await store.sessionTokens.put('t', token, 60_000);
    expect((await limiter.consume('u', { requests: 1, tokens: 10 })).allowed).toBe(true);

    // Calls in flight at the moment of the kill settle quickly, each with a decision or the typed error.
    const inFlight = Array.from({ length: 50 }, () => timed(() => limiter.consume('u', { requests: 1, tokens: 1 })));
    await server.stop('SIGKILL');
    for (const r of await Promise.all(inFlight)) {
      expect(r.ms).toBeLessThan(1000);
      if (!r.ok) expect(isLimiterUnavailable(r.error)).toBe(true);
    }

    const down = [
      await timed(() => limiter.consume('u', { requests: 1, tokens: 1 })),
      await timed(() => limiter.correctTokens('u', { estimated: 10, actual: 5 })),
      await timed(() => store.sessionTokens.get('t')),
      await timed(() => store.verificationCodes.consume('c')),
      await timed(() => store.idempotency.putIfAbsent('k', 'h', 1000)),
    ];
    expect(down.map((r) => r.ok)).toEqual([false, false, false, false, false]);
    const [limited, corrected, ...stored] = down;
    expect(limited?.ok === false && isLimiterUnavailable(limited.error)).toBe(true);
    expect(corrected?.ok === false && isLimiterUnavailable(corrected.error)).toBe(true);
    for (const r of stored) expect(!r.ok && isStoreUnavailable(r.error)).toBe(true);
    expect(stored.map((r) => (!r.ok && isStoreUnavailable(r.error) ? r.error.operation : r.ok))).toEqual([
      'sessionTokens.get',
      'verificationCodes.consume',
      'idempotency.putIfAbsent',
    ]);
    for (const r of down) expect(r.ms).toBeLessThan(1000);
    console.info(`outage: slowest failure ${Math.max(...down.map((r) => r.ms)).toFixed(1)} ms`);

    const restartedAt = performance.now();
    await server.start();
    // The restarted server is empty (no persistence) and has no cached scripts;
    // the client reconnects by itself and the scripts are re-sent on NOSCRIPT.
    await eventually(async () => (await limiter.consume('u2', { requests: 1, tokens: 1 })).allowed, 5000);
    console.info(`recovery: ${(performance.now() - restartedAt).toFixed(0)} ms after restart began`);
    expect(await store.idempotency.putIfAbsent('k', 'h', 1000)).toEqual({ _tag: 'reserved' });
    await store.sessionTokens.put('t', token, 60_000);
    expect(await store.sessionTokens.consume('t')).toEqual(token);
  });

  it('paused (accepts nothing, answers nothing): calls time out with the typed error, then resume', async () => {
    const store = makeRedisSessionStore({ redis, prefix: 'pause:' });
    const limiter = makeRedisRateLimiter({ redis, prefix: 'pause:', limits });
    await eventually(async () => (await limiter.consume('u', { requests: 1, tokens: 1 })).allowed, 5000);
    const pid = server.pid();
    if (pid === undefined) throw new Error('server not running');
    process.kill(pid, 'SIGSTOP');
    try {
      const [a, b] = await Promise.all([
        timed(() => limiter.consume('u', { requests: 1, tokens: 1 })),
        timed(() => store.sessionTokens.get('t')),
      ]);
      expect(a.ok === false && isLimiterUnavailable(a.error)).toBe(true);
      expect(b.ok === false && isStoreUnavailable(b.error)).toBe(true);
      expect(Math.max(a.ms, b.ms)).toBeLessThan(1000);
      console.info(`paused: failures after ${a.ms.toFixed(0)} / ${b.ms.toFixed(0)} ms (commandTimeout 300 ms)`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(async () => (await limiter.consume('u', { requests: 1, tokens: 1 })).allowed, 5000);
  });
});
