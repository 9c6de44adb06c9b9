import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import * as E from 'fp-ts/lib/Either.js';
import { SECRET } from '../ws/wsTestKit.js';
import type { HostileKit } from './hostileKit.js';
import { startHostileKit } from './hostileKit.js';

/**
 * Strict parsing at every edge, JWT lifetime and roles (issue 11), over real
 * sockets. Each case was accepted before: a POST without Content-Type was
 * parsed as JSON and charged, `{"credits":1,"credits":2}` charged 2,
 * 2025-02-30 was read as March 2, `?userId=bob` on a balance read was ignored,
 * a `sub` the paths refuse could spend, `exp: 1e300` was accepted, and a user
 * whose only role was revoked could still deduct.
 */

const sign = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

describe('hostile: strict edges', () => {
  let kit: HostileKit;
  let keys = 0;
  beforeAll(async () => {
    kit = await startHostileKit();
  });
  afterAll(() => kit.stop());

  const deduct = async (sub: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
    const response = await fetch(`${kit.http.url}/api/credits/deduct`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await kit.token(sub)}`, 'idempotency-key': `key-${++keys}`, ...headers },
      body,
    });
    return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> };
  };

  const balanceOf = async (userId: string) => (await kit.app.ledger.balance(userId)).balance;

  it('a JSON body without Content-Type: application/json is 415 and charges nothing', async () => {
    await kit.grant('no-type', 100);
    const body = JSON.stringify({ credits: 5, service: 'sora2' });
    expect((await deduct('no-type', body, {})).status).toBe(415);
    expect((await deduct('no-type', body, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await deduct('no-type', body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect(await balanceOf('no-type')).toBe(100);
    const ok = await deduct('no-type', body, { 'content-type': 'application/json; charset=utf-8' });
    expect(ok.status).toBe(200);
    expect(await balanceOf('no-type')).toBe(95);
  });

  it('duplicate JSON keys are 400 at any depth and charge nothing', async () => {
    await kit.grant('dup', 100);
    const answer = await deduct('dup', '{"credits":1,"service":"sora2","credits":2}');
    expect(answer.status).toBe(400);
    expect(answer.type).toContain('application/problem+json');
    expect(JSON.stringify(answer.body)).toContain('credits');
    expect((await deduct('dup', '{"credits":1,"service":"sora2","x":{"a":1,"\\u0061":2}}')).status).toBe(400);
    expect((await deduct('dup', '{"credits":1, "service":"sora2"')).status).toBe(400);
    expect(await balanceOf('dup')).toBe(100);
  });

  it('impossible calendar dates are 400, real ones are read as written', async () => {
    await kit.grant('dates', 10);
    const headers = { authorization: `Bearer ${await kit.token('dates')}` };
    for (const at of ['2025-02-30T00:00:00Z', '2025-04-31T00:00:00Z', '2025-13-01T00:00:00Z', '2025-02-29T00:00:00Z', '2025-01-01T24:00:00Z']) {
      const response = await fetch(`${kit.http.url}/api/credits/dates/balance?at=${encodeURIComponent(at)}`, { headers });
      expect({ at, status: response.status }).toEqual({ at, status: 400 });
    }
    const leap = await fetch(`${kit.http.url}/api/credits/dates/balance?at=2024-02-29T00:00:00Z`, { headers });
    expect(leap.status).toBe(200);
  });

  it('unknown query fields are refused on every route, including those that take no query', async () => {
    const headers = { authorization: `Bearer ${await kit.token('asker')}` };
    await kit.grant('asker', 10);
    for (const path of ['/api/credits/asker?userId=bob', '/api/credits/asker/history?foo=bar', '/health/live?x=1']) {
      const response = await fetch(`${kit.http.url}${path}`, { headers });
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
    }
    expect((await fetch(`${kit.http.url}/api/credits/asker`, { headers })).status).toBe(200);
  });

  it('a sub that cannot name an account is refused at authentication, on both ports', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    for (const sub of ['has space', 'slash/inside', 'x'.repeat(201), 'ünïcode']) {
      const token = await sign({ sub, exp });
      const response = await fetch(`${kit.http.url}/api/credits/deduct`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `sub-${++keys}` },
        body: JSON.stringify({ credits: 1, service: 'sora2' }),
      });
      const body = (await response.json()) as { detail?: string };
      expect({ sub, status: response.status }).toEqual({ sub, status: 401 });
      expect(body.detail).toMatch(/sub/);
    }
  });

  it('a token whose exp lies beyond JWT_MAX_LIFETIME (30 days) is refused; 29 days is fine', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const call = async (exp: number) =>
      (await fetch(`${kit.http.url}/api/credits/long-lived`, { headers: { authorization: `Bearer ${await sign({ sub: 'long-lived', exp })}` } })).status;
    expect(await call(1e300)).toBe(401);
    expect(await call(nowS + 31 * 86_400)).toBe(401);
    expect(await call(nowS + 29 * 86_400)).not.toBe(401);
  });

  it('a user whose only role was revoked cannot deduct; docs and behaviour agree', async () => {
    await kit.grant('demoted', 100);
    const revoked = await kit.app.access.change('demoted', { userId: 'cli:test', trusted: true }, { type: 'RevokeRole', role: 'user' });
    expect(E.isRight(revoked)).toBe(true);
    const answer = await deduct('demoted', JSON.stringify({ credits: 5, service: 'sora2' }));
    expect(answer.status).toBe(403);
    expect(answer.body['action']).toBe('credits:deduct');
    expect(await balanceOf('demoted')).toBe(100);
    await kit.grant('ordinary', 100);
    expect((await deduct('ordinary', JSON.stringify({ credits: 5, service: 'sora2' }))).status).toBe(200);
  });
});
