import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { history } from '../../../application/credits/queries.js';
import type { Kit } from './httpKit.js';
import { json, makeKit, problemOf } from './httpKit.js';

let kit: Kit;
let seq = 0;
/** A fresh user per test, so tests do not share balances. */
const user = (name: string) => `${name}-${++seq}`;

beforeAll(async () => {
  kit = await makeKit({ env: { RATE_LIMIT_REQUESTS_PER_MIN: '100000' } });
});
afterAll(async () => kit.close());

const post = async (sub: string, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  kit.inject({ method: 'POST', url, payload: payload as object, headers: { ...(await kit.as(sub)), ...headers } });

describe('POST /api/credits/check', () => {
  it('answers for the caller\'s own account and changes nothing', async () => {
    const alice = user('alice');
    await kit.grant(alice, 100);
    const yes = await post(alice, '/api/credits/check', { credits: 100, service: 'sora2' });
    expect(yes.statusCode).toBe(200);
    expect(json(yes)).toEqual({ userId: alice, canSpend: true, requested: 100, balance: 100, held: 0, available: 100 });
    const no = await post(alice, '/api/credits/check', { credits: 101, service: 'sora2' });
    expect(json(no)).toMatchObject({ canSpend: false, available: 100 });
    expect((await kit.app.ledger.balance(alice)).balance).toBe(100);
  });

  it('refuses to read someone else\'s account without credits:read-any (403)', async () => {
    const [mallory, victim] = [user('mallory'), user('victim')];
    await kit.grant(victim, 50);
    const body = problemOf(await post(mallory, '/api/credits/check', { userId: victim, credits: 1, service: 'llm' }), 403, 'forbidden');
    expect(body['action']).toBe('credits:read-any');
  });

  it('lets an auditor read any account', async () => {
    const [auditor, someone] = [user('auditor'), user('someone')];
    await kit.assignRole(auditor, 'auditor');
    await kit.grant(someone, 7);
    expect(json(await post(auditor, '/api/credits/check', { userId: someone, credits: 7, service: 'llm' }))).toMatchObject({ canSpend: true, userId: someone });
  });
});

describe('amount and payload validation', () => {
  const bad: readonly [string, unknown][] = [
    ['a fraction', 1.5],
    ['a negative', -1],
    ['zero', 0],
    ['a string', '10'],
    ['an unsafe integer', 1e20],
    ['null', null],
    ['a boolean', true],
  ];
  it.each(bad)('refuses %s as credits with a 400 naming the field, writing nothing', async (_name, credits) => {
    const alice = user('alice');
    await kit.grant(alice, 100);
    const response = await post(alice, '/api/credits/deduct', { credits, service: 'sora2' }, { 'idempotency-key': `k-${seq}` });
    const body = problemOf(response, 400, 'validation-failed');
    expect(body['errors']).toEqual([expect.objectContaining({ path: 'credits' })]);
    expect((await kit.app.ledger.balance(alice)).balance).toBe(100);
  });

  it('refuses missing fields, unknown fields, and bad service names', async () => {
    const alice = user('alice');
    const missing = problemOf(await post(alice, '/api/credits/check', { credits: 1 }), 400, 'validation-failed');
    expect(missing['errors']).toEqual([expect.objectContaining({ path: 'service' })]);
    const unknown = problemOf(await post(alice, '/api/credits/check', { credits: 1, service: 'x', credit: 5 }), 400, 'validation-failed');
    expect(unknown['errors']).toEqual([{ path: 'credit', message: 'is not allowed' }]);
    problemOf(await post(alice, '/api/credits/check', { credits: 1, service: 'Bad Service!' }), 400, 'validation-failed');
    problemOf(await post(alice, '/api/credits/check', [1, 2]), 400, 'validation-failed');
  });

  it('answers 400 for malformed JSON, 415 for other media types, 413 above HTTP_MAX_BODY_BYTES', async () => {
    const alice = user('alice');
    const headers = await kit.as(alice);
    problemOf(await kit.inject({ method: 'POST', url: '/api/credits/check', payload: '{"credits":', headers: { ...headers, 'content-type': 'application/json' } }), 400, 'bad-request');
    problemOf(await kit.inject({ method: 'POST', url: '/api/credits/check', payload: 'credits=1', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported-media-type');
    const huge = JSON.stringify({ credits: 1, service: 'x', pad: 'x'.repeat(kit.app.config.HTTP_MAX_BODY_BYTES) });
    problemOf(await kit.inject({ method: 'POST', url: '/api/credits/check', payload: huge, headers: { ...headers, 'content-type': 'application/json' } }), 413, 'payload-too-large');
  });
});

describe('POST /api/credits/deduct', () => {
  it('requires a valid Idempotency-Key', async () => {
    const alice = user('alice');
    await kit.grant(alice, 10);
    problemOf(await post(alice, '/api/credits/deduct', { credits: 1, service: 'sora2' }), 400, 'idempotency-key-required');
    problemOf(await post(alice, '/api/credits/deduct', { credits: 1, service: 'sora2' }, { 'idempotency-key': 'x'.repeat(201) }), 400, 'invalid-idempotency-key');
    expect((await kit.app.ledger.balance(alice)).balance).toBe(10);
  });

  it('deducts once; the same key and body replay the first response without charging again', async () => {
    const alice = user('alice');
    await kit.grant(alice, 10);
    const first = await post(alice, '/api/credits/deduct', { credits: 4, service: 'sora2', sessionId: 's-1' }, { 'idempotency-key': 'pay-1' });
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(json(first)).toMatchObject({ userId: alice, charged: 4, service: 'sora2', balance: 6, held: 0, available: 6 });
    // The body's key order does not matter: the hash is over canonical JSON.
    const again = await post(alice, '/api/credits/deduct', { sessionId: 's-1', service: 'sora2', credits: 4 }, { 'idempotency-key': 'pay-1' });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(json(again)).toEqual(json(first));
    expect((await kit.app.ledger.balance(alice)).balance).toBe(6);
  });

  it('answers 409 for the same key with another body, and charges nothing', async () => {
    const alice = user('alice');
    await kit.grant(alice, 10);
    await post(alice, '/api/credits/deduct', { credits: 4, service: 'sora2' }, { 'idempotency-key': 'pay-2' });
    problemOf(await post(alice, '/api/credits/deduct', { credits: 5, service: 'sora2' }, { 'idempotency-key': 'pay-2' }), 409, 'idempotency-key-reused');
    expect((await kit.app.ledger.balance(alice)).balance).toBe(6);
  });

  it('scopes keys per caller: two users may use the same key', async () => {
    const [a, b] = [user('a'), user('b')];
    await kit.grant(a, 10);
    await kit.grant(b, 10);
    expect((await post(a, '/api/credits/deduct', { credits: 1, service: 'llm' }, { 'idempotency-key': 'same' })).statusCode).toBe(200);
    const other = await post(b, '/api/credits/deduct', { credits: 2, service: 'llm' }, { 'idempotency-key': 'same' });
    expect(other.statusCode).toBe(200);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(json(other)).toMatchObject({ userId: b, balance: 8 });
  });

  it('concurrent duplicates: exactly one charge, the others replay or are told it is in progress', async () => {
    const alice = user('alice');
    await kit.grant(alice, 100);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => post(alice, '/api/credits/deduct', { credits: 10, service: 'sora2' }, { 'idempotency-key': 'burst' })),
    );
    for (const r of responses) {
      if (r.statusCode === 409) problemOf(r, 409, 'idempotency-in-progress');
      else expect(r.statusCode).toBe(200);
    }
    expect(responses.filter((r) => r.statusCode === 200 && r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect((await kit.app.ledger.balance(alice)).balance).toBe(90);
  });

  it('cannot double charge even when the idempotency store has forgotten the key', async () => {
    const alice = user('alice');
    await kit.grant(alice, 10);
    const headers = { 'idempotency-key': 'forgotten' };
    expect((await post(alice, '/api/credits/deduct', { credits: 3, service: 'sora2' }, headers)).statusCode).toBe(200);
    // Simulate a lost key: a new server whose idempotency store is empty, on the same ledger.
    const amnesiac = await makeKit({ patch: () => ({ ...kit.app, sessions: { ...kit.app.sessions, idempotency: emptyIdempotency() } }) });
    const retry = await amnesiac.inject({ method: 'POST', url: '/api/credits/deduct', payload: { credits: 3, service: 'sora2' }, headers: { ...(await kit.as(alice)), ...headers } });
    expect(retry.statusCode).toBe(200);
    expect(json(retry)).toMatchObject({ balance: 7 });
    await amnesiac.server.stop();
    expect((await kit.app.ledger.balance(alice)).balance).toBe(7);
  });

  it('answers 402 when the available credits are short, writes nothing, and replays the 402 for that key', async () => {
    const alice = user('alice');
    await kit.grant(alice, 5);
    const short = problemOf(await post(alice, '/api/credits/deduct', { credits: 6, service: 'sora2' }, { 'idempotency-key': 'too-much' }), 402, 'insufficient-credits');
    expect(short).toMatchObject({ requested: 6, available: 5 });
    const replay = await post(alice, '/api/credits/deduct', { credits: 6, service: 'sora2' }, { 'idempotency-key': 'too-much' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    problemOf(replay, 402, 'insufficient-credits');
    expect((await history(kit.app.store, alice)).items.map((e) => e.type)).toEqual(['AccountOpened', 'CreditsGranted']);
  });

  it('never trusts a userId in the body over the token: 403 without credits:deduct-any', async () => {
    const [mallory, victim] = [user('mallory'), user('victim')];
    await kit.grant(victim, 50);
    const body = problemOf(await post(mallory, '/api/credits/deduct', { userId: victim, credits: 50, service: 'llm' }, { 'idempotency-key': 'steal' }), 403, 'forbidden');
    expect(body['action']).toBe('credits:deduct-any');
    expect((await kit.app.ledger.balance(victim)).balance).toBe(50);
  });

  it('refuses to spend a suspended user\'s credits (403 account-suspended), by them or by a service', async () => {
    const [suspended, gateway] = [user('suspended'), user('svc')];
    await kit.assignRole(gateway, 'service');
    await kit.grant(suspended, 50);
    const change = await kit.app.access.change(suspended, { userId: 'cli:test', trusted: true }, { type: 'Suspend', reason: 'chargeback' });
    expect(change._tag).toBe('Right');
    problemOf(await post(suspended, '/api/credits/deduct', { credits: 5, service: 'llm' }, { 'idempotency-key': 'sus-1' }), 403, 'account-suspended');
    problemOf(await post(gateway, '/api/credits/deduct', { userId: suspended, credits: 5, service: 'llm' }, { 'idempotency-key': 'sus-2' }), 403, 'account-suspended');
    expect((await kit.app.ledger.balance(suspended)).balance).toBe(50);
  });

  it('lets a service identity deduct from another account', async () => {
    const [gateway, customer] = [user('svc'), user('customer')];
    await kit.assignRole(gateway, 'service');
    await kit.grant(customer, 50);
    const response = await post(gateway, '/api/credits/deduct', { userId: customer, credits: 20, service: 'llm' }, { 'idempotency-key': 'svc-1' });
    expect(json(response)).toMatchObject({ userId: customer, balance: 30 });
  });
});

const emptyIdempotency = () => {
  const entries = new Map<string, unknown>();
  return {
    putIfAbsent: async (key: string) => {
      entries.set(key, true);
      return { _tag: 'reserved' as const };
    },
    complete: async () => undefined,
    release: async () => undefined,
  };
};
