import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mintDevToken } from '../../../adapters/auth/jwtMint.js';
import type { JwksServer, TestKey } from '../../support/jwks.js';
import { makeTestKey, signHs256, signWith, startJwksServer, unsecuredToken } from '../../support/jwks.js';
import type { Kit } from './wsTestKit.js';
import { ask, openSocket, SECRET, startKit, tryUpgrade } from './wsTestKit.js';

/** Authentication happens during the upgrade: a refused client gets an HTTP answer and never a socket. */
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const nowS = () => Math.floor(Date.now() / 1000);

describe('WebSocket upgrade with HS256 (JWT_SECRET)', () => {
  let kit: Kit;
  let eventsBefore: number;
  beforeAll(async () => {
    kit = await startKit({ env: { WS_MAX_CONNECTIONS_PER_USER: '2' } });
    eventsBefore = await kit.eventCount();
  });
  afterAll(() => kit.stop());

  const refused = async (headers: Record<string, string>, query = '') => {
    const answer = await tryUpgrade(`${kit.ws.url}/${query}`, headers);
    if (answer === 'open') throw new Error('the upgrade was accepted');
    return { ...answer, json: JSON.parse(answer.body) as { code: string; message: string } };
  };

  it('accepts a valid token in the Authorization header or in the token query parameter', async () => {
    const token = await kit.token('auth-ok');
    expect(await tryUpgrade(`${kit.ws.url}/`, bearer(token))).toBe('open');
    expect(await tryUpgrade(`${kit.ws.url}/?token=${token}`)).toBe('open');
  });

  it.each([
    ['no token', async () => ({})],
    ['a Basic authorization header', async () => ({ Authorization: 'Basic dXNlcjpwYXNz' })],
    ['a bad signature', async () => bearer(await mintDevToken('another-secret-that-is-long-enough-123', 'mallory'))],
    ['alg none', async () => bearer(unsecuredToken({ sub: 'mallory', exp: nowS() + 60 }))],
    ['an expired token', async () => bearer(await mintDevToken(SECRET, 'late', { now: () => Date.now() - 7_200_000 }))],
    ['no sub', async () => bearer(await signHs256(SECRET, { exp: nowS() + 60 }))],
    ['no exp', async () => bearer(await signHs256(SECRET, { sub: 'forever' }))],
    ['garbage', async () => bearer('not.a.jwt')],
  ])('refuses %s with HTTP 401 and an UNAUTHORIZED body', async (_name, headers) => {
    const answer = await refused(await headers());
    expect(answer.status).toBe(401);
    expect(answer.json.code).toBe('UNAUTHORIZED');
    expect(String(answer.headers['www-authenticate'])).toMatch(/^Bearer/);
  });

  it('never logs a token, even one refused in the query string', async () => {
    const expired = await mintDevToken(SECRET, 'leaky', { now: () => Date.now() - 7_200_000 });
    const answer = await refused({}, `?token=${expired}&x=1`);
    expect(answer.status).toBe(401);
    const logged = kit.logs.join('\n');
    expect(logged).toContain('token=[REDACTED]&x=1');
    expect(logged).not.toContain(expired);
  });

  it('caps connections per user with HTTP 429, and frees the slot when a socket closes', async () => {
    const token = await kit.token('auth-capped');
    const first = await openSocket(`${kit.ws.url}/`, { headers: bearer(token) });
    const second = await openSocket(`${kit.ws.url}/`, { headers: bearer(token) });
    const third = await refused(bearer(token));
    expect(third.status).toBe(429);
    expect(third.json.code).toBe('RATE_LIMIT_EXCEEDED');
    first.ws.close();
    await first.closed;
    const again = await openSocket(`${kit.ws.url}/`, { headers: bearer(token) });
    again.ws.close();
    second.ws.close();
  });

  it('refuses requests once the token has expired during the connection (UNAUTHORIZED frame, socket stays open)', async () => {
    // exp two seconds ago: inside the verifier's clock tolerance at the upgrade, past it for a request.
    const token = await mintDevToken(SECRET, 'auth-expiring', { now: () => Date.now() - 3_602_000, expiresInS: 3600 });
    const socket = await openSocket(`${kit.ws.url}/`, { headers: bearer(token) });
    socket.send(ask('late'));
    const error = await socket.next((f) => f.id === 'late');
    expect(error.error).toMatchObject({ code: 'UNAUTHORIZED', retryable: true });
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    socket.ws.close();
  });

  it('wrote no ledger event for any refusal', async () => {
    expect(await kit.eventCount()).toBe(eventsBefore);
  });
});

describe('WebSocket upgrade with a JWKS URL (RS256/ES256, issuer and audience checked)', () => {
  let kit: Kit;
  let jwks: JwksServer;
  let rsa: TestKey;
  let ec: TestKey;
  const issuer = 'https://issuer.test';
  const audience = 'credit-gateway';
  const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'jwks-user', iss: issuer, aud: audience, exp: nowS() + 300, ...extra });

  beforeAll(async () => {
    [rsa, ec] = await Promise.all([makeTestKey('RS256'), makeTestKey('ES256')]);
    jwks = await startJwksServer([rsa, ec]);
    kit = await startKit({ env: { JWT_SECRET: '', JWT_JWKS_URL: jwks.url, JWT_ISSUER: issuer, JWT_AUDIENCE: audience } });
  });
  afterAll(async () => {
    await kit.stop();
    await jwks.close();
  });

  const status = async (token: string) => {
    const answer = await tryUpgrade(`${kit.ws.url}/`, bearer(token));
    return answer === 'open' ? 'open' : answer.status;
  };

  it('accepts RS256 and ES256 tokens from the key set', async () => {
    expect(await status(await signWith(rsa, claims()))).toBe('open');
    expect(await status(await signWith(ec, claims()))).toBe('open');
  });

  it('refuses a wrong issuer, a wrong audience, an unknown key, and HS256 signed with the RSA public key (alg confusion)', async () => {
    expect(await status(await signWith(rsa, claims({ iss: 'https://evil.test' })))).toBe(401);
    expect(await status(await signWith(rsa, claims({ aud: 'someone-else' })))).toBe(401);
    const stranger = await makeTestKey('RS256', rsa.kid);
    expect(await status(await signWith(stranger, claims()))).toBe(401);
    expect(await status(await signHs256(rsa.publicPem, claims(), { kid: rsa.kid }))).toBe(401);
    expect(await status(unsecuredToken(claims()))).toBe(401);
  });
});

describe('WebSocket upgrade while the JWKS endpoint is down', () => {
  it('answers 503 SERVICE_UNAVAILABLE (not 401): the token may be fine, the keys are missing', async () => {
    const key = await makeTestKey('RS256');
    const jwks = await startJwksServer([key]);
    jwks.behave('error500');
    const kit = await startKit({ env: { JWT_SECRET: '', JWT_JWKS_URL: jwks.url } });
    try {
      const answer = await tryUpgrade(`${kit.ws.url}/`, bearer(await signWith(key, { sub: 'u', exp: nowS() + 60 })));
      expect(answer).not.toBe('open');
      if (answer !== 'open') {
        expect(answer.status).toBe(503);
        expect(JSON.parse(answer.body)).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      }
    } finally {
      await kit.stop();
      await jwks.close();
    }
  });
});
