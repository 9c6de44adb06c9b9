import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kit } from './httpKit.js';
import { json, makeKit, problemOf } from './httpKit.js';

let kit: Kit;
let seq = 0;
const user = (name: string) => `${name}-${++seq}`;

beforeAll(async () => {
  kit = await makeKit({ env: { RATE_LIMIT_REQUESTS_PER_MIN: '100000' } });
});
afterAll(async () => kit.close());

const get = async (sub: string, url: string) => kit.inject({ method: 'GET', url, headers: await kit.as(sub) });
const grantAs = async (sub: string, target: string, payload: unknown, headers: Record<string, string> = {}) =>
  kit.inject({ method: 'POST', url: `/api/credits/${encodeURIComponent(target)}/grants`, payload: payload as object, headers: { ...(await kit.as(sub)), ...headers } });

describe('GET /api/credits/{userId}', () => {
  it('shows the caller\'s balance, held and available credits; zeros for a new account', async () => {
    const alice = user('alice');
    expect(json(await get(alice, `/api/credits/${alice}`))).toEqual({ userId: alice, balance: 0, held: 0, available: 0 });
    await kit.grant(alice, 30);
    const reserved = await kit.app.ledger.reserve({ accountId: alice, reservationId: 'r1', amount: 10, ttlMs: 60_000, purpose: { service: 'llm', provider: 'p', model: 'm' } });
    expect(reserved._tag).toBe('Right');
    expect(json(await get(alice, `/api/credits/${alice}`))).toEqual({ userId: alice, balance: 30, held: 10, available: 20 });
  });

  it('is 403 for someone else\'s account, 200 with credits:read-any', async () => {
    const [bob, alice, auditor] = [user('bob'), user('alice'), user('auditor')];
    problemOf(await get(bob, `/api/credits/${alice}`), 403, 'forbidden');
    await kit.assignRole(auditor, 'auditor');
    expect((await get(auditor, `/api/credits/${alice}`)).statusCode).toBe(200);
  });

  it('validates the path parameter', async () => {
    const alice = user('alice');
    const body = problemOf(await get(alice, `/api/credits/${encodeURIComponent('bad id with spaces')}`), 400, 'validation-failed');
    expect(body['in']).toBe('params');
  });
});

describe('GET /api/credits/{userId}/history', () => {
  it('pages through the history with next links until the end', async () => {
    const alice = user('alice');
    for (let i = 0; i < 5; i++) await kit.grant(alice, 1 + i);
    const first = await get(alice, `/api/credits/${alice}/history?limit=2`);
    const page1 = json(first);
    expect((page1['items'] as { revision: number; type: string }[]).map((e) => [e.revision, e.type])).toEqual([
      [0, 'AccountOpened'],
      [1, 'CreditsGranted'],
    ]);
    expect(page1['next']).toBe(`/api/credits/${alice}/history?fromRevision=2&limit=2`);
    expect(first.headers['link']).toBe(`</api/credits/${alice}/history?fromRevision=2&limit=2>; rel="next"`);
    const revisions: number[] = [];
    let next: string | undefined = `/api/credits/${alice}/history?limit=2`;
    while (next !== undefined) {
      const page = json(await get(alice, next));
      const items = page['items'] as { revision: number; at: string; hash: string }[];
      for (const item of items) {
        expect(item.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
        expect(item.hash).toMatch(/^[0-9a-f]{64}$/);
      }
      revisions.push(...items.map((e) => e.revision));
      next = page['next'] as string | undefined;
    }
    expect(revisions).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('validates fromRevision and limit', async () => {
    const alice = user('alice');
    for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'fromRevision=-1', 'fromRevision=1.5', 'other=1']) {
      problemOf(await get(alice, `/api/credits/${alice}/history?${query}`), 400, 'validation-failed');
    }
  });

  it('is 403 for someone else\'s history', async () => {
    problemOf(await get(user('bob'), `/api/credits/${user('alice')}/history`), 403, 'forbidden');
  });
});

describe('GET /api/credits/{userId}/balance?at=', () => {
  it('answers the balance as it was at an instant', async () => {
    const alice = user('alice');
    await kit.grant(alice, 10);
    const between = new Date(Date.now() + 1).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await kit.grant(alice, 5);
    expect(json(await get(alice, `/api/credits/${alice}/balance?at=${encodeURIComponent(between)}`))).toMatchObject({ balance: 10, revision: 1 });
    expect(json(await get(alice, `/api/credits/${alice}/balance?at=2000-01-01T00:00:00Z`))).toMatchObject({ balance: 0, revision: -1 });
    problemOf(await get(alice, `/api/credits/${alice}/balance?at=yesterday`), 400, 'validation-failed');
    problemOf(await get(alice, `/api/credits/${alice}/balance`), 400, 'validation-failed');
  });
});

describe('POST /api/credits/{userId}/grants', () => {
  it('is refused to a non-admin, even for their own account', async () => {
    const alice = user('alice');
    const body = problemOf(await grantAs(alice, alice, { credits: 1000 }), 403, 'forbidden');
    expect(body['action']).toBe('credits:grant');
    expect((await kit.app.ledger.balance(alice)).balance).toBe(0);
  });

  it('lets an admin grant, idempotently by grantId; another amount with that id is 409', async () => {
    const [admin, alice] = [user('admin'), user('alice')];
    await kit.assignRole(admin, 'admin');
    const first = await grantAs(admin, alice, { credits: 100, grantId: 'welcome', reason: 'welcome bonus' });
    expect(first.statusCode).toBe(201);
    expect(json(first)).toEqual({
      userId: alice,
      grantId: 'welcome',
      granted: 100,
      duplicate: false,
      balance: 100,
      held: 0,
      available: 100,
      receipt: { position: expect.any(Number), leafHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const again = await grantAs(admin, alice, { credits: 100, grantId: 'welcome' });
    expect(again.statusCode).toBe(200);
    expect(json(again)).toMatchObject({ duplicate: true, balance: 100 });
    const conflict = problemOf(await grantAs(admin, alice, { credits: 200, grantId: 'welcome' }), 409, 'id-conflict');
    expect(conflict).toMatchObject({ kind: 'grant', field: 'amount' });
    expect((await kit.app.ledger.balance(alice)).balance).toBe(100);
  });

  it('derives the grant id from Idempotency-Key when no grantId is given', async () => {
    const [admin, alice] = [user('admin'), user('alice')];
    await kit.assignRole(admin, 'admin');
    const headers = { 'idempotency-key': 'grant-once' };
    expect((await grantAs(admin, alice, { credits: 5 }, headers)).statusCode).toBe(201);
    expect((await grantAs(admin, alice, { credits: 5 }, headers)).statusCode).toBe(200);
    expect((await grantAs(admin, alice, { credits: 5 })).statusCode).toBe(201);
    expect((await kit.app.ledger.balance(alice)).balance).toBe(10);
  });

  it('validates the amount and the expiry', async () => {
    const [admin, alice] = [user('admin'), user('alice')];
    await kit.assignRole(admin, 'admin');
    problemOf(await grantAs(admin, alice, { credits: 2.5 }), 400, 'validation-failed');
    problemOf(await grantAs(admin, alice, { credits: 5, expiresAt: 'soon' }), 400, 'validation-failed');
    problemOf(await grantAs(admin, alice, { credits: 5, expiresAt: '2001-01-01T00:00:00Z' }), 400, 'invalid-expiry');
    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect(json(await grantAs(admin, alice, { credits: 5, expiresAt: later }))).toMatchObject({ balance: 5 });
  });
});
