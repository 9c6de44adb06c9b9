import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { deleteByPrefix } from '../../../adapters/redis/redisClient.js';
import { makeHttpServer } from '../../../adapters/http/server.js';
import { describeWithRedis } from '../../support/services.js';
import type { Kit } from './httpKit.js';
import { json, makeKit, problemOf } from './httpKit.js';

/**
 * Idempotency-Key against the real Redis SessionStore: two REST servers on
 * one ledger share the key store, as two processes behind a load balancer do.
 */
describeWithRedis('POST /api/credits/deduct with Redis-backed idempotency keys', (url) => {
  const prefix = `test:http-idem:${process.pid}:${randomBytes(4).toString('hex')}:`;
  let kit: Kit;
  beforeAll(async () => {
    kit = await makeKit({ env: { REDIS_URL: url, REDIS_PREFIX: prefix, RATE_LIMIT_REQUESTS_PER_MIN: '100000' } });
  });
  afterAll(async () => {
    if (kit.app.redis !== undefined) await deleteByPrefix(kit.app.redis, prefix);
    await kit.close();
  });

  it('charges once across two servers, replays the stored response, refuses another body, and keeps the key a day', async () => {
    const second = await makeHttpServer(kit.app);
    await kit.grant('carol', 100);
    const headers = { ...(await kit.as('carol')), 'idempotency-key': 'redis-key-1' };
    const send = (server: typeof second, credits: number) =>
      server.inject({ method: 'POST', url: '/api/credits/deduct', payload: { credits, service: 'sora2' }, headers });

    const burst = await Promise.all([send(kit.server, 30), send(second, 30), send(kit.server, 30), send(second, 30)]);
    const firsts = burst.filter((r) => r.statusCode === 200 && r.headers['idempotent-replayed'] === undefined);
    expect(firsts).toHaveLength(1);
    for (const r of burst) if (r.statusCode !== 200) problemOf(r, 409, 'idempotency-in-progress');
    expect((await kit.app.ledger.balance('carol')).balance).toBe(70);

    const replay = await send(second, 30);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(json(replay)).toEqual(json(firsts[0]!));
    problemOf(await send(second, 31), 409, 'idempotency-key-reused');
    expect((await kit.app.ledger.balance('carol')).balance).toBe(70);

    const keys = await kit.app.redis!.keys(`${prefix}s:idem:*`);
    expect(keys).toHaveLength(1);
    expect(await kit.app.redis!.pttl(keys[0]!)).toBeGreaterThanOrEqual(24 * 60 * 60 * 1000);
    await second.stop();
  });
});
