import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { capturingLogger } from '../../support/logCapture.js';
import { limiterUnavailable } from '../../../application/ports/rateLimiter.js';
import { storeUnavailable } from '../../../application/ports/sessionStore.js';
import { makeTestKey, signWith, unsecuredToken } from '../../support/jwks.js';
import type { Kit } from './httpKit.js';
import { json, makeKit, problemOf, SECRET } from './httpKit.js';

const checkBody = { credits: 1, service: 'llm' };

/** Log lines of the kits that pass `logger`, to check that a 503's reason reaches the operator (and not the client). */
const { lines, logger } = capturingLogger();
const requestLine = (requestId: unknown) => lines.find((l) => l['msg'] === 'request' && l['requestId'] === requestId);

describe('bearer JWT authentication', () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await makeKit({ env: { RATE_LIMIT_REQUESTS_PER_MIN: '100000' } });
  });
  afterAll(async () => kit.close());
  const check = (headers: Record<string, string>, url = '/api/credits/check') => kit.inject({ method: 'POST', url, payload: checkBody, headers });

  it('accepts a valid token and answers for its subject', async () => {
    const response = await check(await kit.as('alice'));
    expect(response.statusCode).toBe(200);
    expect(json(response)['userId']).toBe('alice');
  });

  it('401 without a token, with a Bearer challenge', async () => {
    const response = await check({});
    problemOf(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="credit-ledger"');
  });

  it('401 for a forged token (other secret, alg none, garbage)', async () => {
    const forged = await (await import('../../../adapters/auth/jwtMint.js')).mintDevToken(`${SECRET}-forged`, 'alice');
    for (const token of [forged, unsecuredToken({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 }), 'not.a.jwt']) {
      const response = await check({ authorization: `Bearer ${token}` });
      problemOf(response, 401, 'invalid-token');
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });

  it('401 token-expired for an expired token', async () => {
    const token = await kit.token('alice', { now: () => Date.now() - 3_600_000, expiresInS: 60 });
    problemOf(await check({ authorization: `Bearer ${token}` }), 401, 'token-expired');
  });

  it('does not take the token from the query string on REST, nor from a Basic header', async () => {
    const token = await kit.token('alice');
    problemOf(await check({}, `/api/credits/check?token=${token}`), 401, 'unauthorized');
    problemOf(await check({ authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` }), 401, 'unauthorized');
  });
});

describe('signing keys unreachable', () => {
  it('answers 503 auth-unavailable (not 401) when the JWKS cannot be fetched', async () => {
    const kit = await makeKit({ env: { JWT_SECRET: '', JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json' }, logger });
    try {
      const token = await signWith(await makeTestKey('RS256'), { sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 });
      const response = await kit.inject({ method: 'POST', url: '/api/credits/check', payload: checkBody, headers: { authorization: `Bearer ${token}` } });
      const body = problemOf(response, 503, 'auth-unavailable');
      expect(response.headers['retry-after']).toBe('5');
      const line = requestLine(response.headers['x-request-id']);
      expect(line).toMatchObject({ level: 40, status: 503 });
      expect(typeof line?.['err']).toBe('string');
      expect(String(line?.['err']).length).toBeGreaterThan(0);
      expect(JSON.stringify(body)).not.toContain(String(line?.['err']));
    } finally {
      await kit.close();
    }
  });
});

describe('rate limits', () => {
  let kit: Kit | undefined;
  afterEach(async () => {
    await kit?.close();
    kit = undefined;
  });

  it('429 with Retry-After once the per-user request budget is spent; other users are unaffected', async () => {
    kit = await makeKit({ env: { RATE_LIMIT_REQUESTS_PER_MIN: '2' } });
    const alice = await kit.as('alice');
    expect((await kit.inject({ method: 'GET', url: '/api/credits/alice', headers: alice })).statusCode).toBe(200);
    expect((await kit.inject({ method: 'GET', url: '/api/credits/alice', headers: alice })).statusCode).toBe(200);
    const limited = await kit.inject({ method: 'GET', url: '/api/credits/alice', headers: alice });
    const body = problemOf(limited, 429, 'rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(body).toMatchObject({ limit: 'requests', retryable: true });
    // Invalid requests count too: the limit runs before validation.
    problemOf(await kit.inject({ method: 'POST', url: '/api/credits/check', payload: {}, headers: alice }), 429, 'rate-limited');
    expect((await kit.inject({ method: 'GET', url: '/api/credits/bob', headers: await kit.as('bob') })).statusCode).toBe(200);
  });

  it('503 (never an unlimited pass) when the limiter is unreachable', async () => {
    kit = await makeKit({
      patch: (app) => ({
        ...app,
        limiter: { ...app.limiter, consume: () => Promise.reject(limiterUnavailable('consume', new Error('connect ECONNREFUSED 10.9.8.7:6379'))) },
      }),
      logger,
    });
    const response = await kit.inject({ method: 'GET', url: '/api/credits/alice', headers: await kit.as('alice') });
    const body = problemOf(response, 503, 'rate-limiter-unavailable');
    expect(response.headers['retry-after']).toBe('1');
    expect(JSON.stringify(body)).not.toContain('10.9.8.7');
    expect(requestLine(response.headers['x-request-id'])).toMatchObject({
      level: 40,
      status: 503,
      err: 'rate limiter unavailable during consume: connect ECONNREFUSED 10.9.8.7:6379',
    });
  });

  it('503 session-store-unavailable when the idempotency store is down, and nothing is charged', async () => {
    kit = await makeKit({
      env: { RATE_LIMIT_REQUESTS_PER_MIN: '100000' },
      patch: (app) => ({
        ...app,
        sessions: { ...app.sessions, idempotency: { ...app.sessions.idempotency, putIfAbsent: () => Promise.reject(storeUnavailable('idempotency.putIfAbsent', new Error('down'))) } },
      }),
      logger,
    });
    await kit.grant('alice', 10);
    const response = await kit.inject({
      method: 'POST',
      url: '/api/credits/deduct',
      payload: { credits: 5, service: 'llm' },
      headers: { ...(await kit.as('alice')), 'idempotency-key': 'k1' },
    });
    problemOf(response, 503, 'session-store-unavailable');
    expect((await kit.app.ledger.balance('alice')).balance).toBe(10);
    expect(requestLine(response.headers['x-request-id'])).toMatchObject({ level: 40, status: 503, userId: 'alice' });
    expect(String(requestLine(response.headers['x-request-id'])?.['err'])).toContain('down');
  });

  it('500 internal-error for a bug, without leaking its message', async () => {
    kit = await makeKit({ patch: (app) => ({ ...app, ledger: { ...app.ledger, balance: () => Promise.reject(new Error('secret internals at /srv/db')) } }) });
    const response = await kit.inject({ method: 'GET', url: '/api/credits/alice', headers: await kit.as('alice') });
    const body = problemOf(response, 500, 'internal-error');
    expect(response.payload).not.toContain('secret internals');
    expect(body['title']).toBe('Internal Server Error');
  });
});
