import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kit } from '../http/httpKit.js';
import { json, makeKit } from '../http/httpKit.js';

/**
 * The compatible endpoints and the key REST endpoints through server.inject,
 * on the scripted provider: error shapes and statuses per API, and key
 * management rights (own account free, other accounts need credits:grant).
 */
let kit: Kit;
beforeAll(async () => {
  kit = await makeKit();
});
afterAll(async () => kit.close());

const chat = (headers: Record<string, string>, payload: unknown) => kit.inject({ method: 'POST', url: '/v1/chat/completions', headers, payload: payload as object });
const messages = (headers: Record<string, string>, payload: unknown) => kit.inject({ method: 'POST', url: '/v1/messages', headers, payload: payload as object });

describe('compatible endpoints (inject)', () => {
  it('refuses a missing or unknown key in each provider\'s shape', async () => {
    const openai = await chat({}, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(openai.statusCode).toBe(401);
    expect(json(openai)).toEqual({ error: expect.objectContaining({ type: 'invalid_request_error', code: 'invalid_api_key' }) });
    const anthropic = await messages({ 'x-api-key': 'clg_000000000000000000000000_' + 'a'.repeat(43) }, { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(anthropic.statusCode).toBe(401);
    expect(json(anthropic)).toEqual({ type: 'error', error: expect.objectContaining({ type: 'authentication_error' }) });
  });

  it('answers bad JSON and invalid bodies as invalid_request_error, not problem+json', async () => {
    const headers = await kit.as('inv-user');
    const badJson = await kit.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...headers, 'content-type': 'application/json' }, payload: '{"model":' });
    expect(badJson.statusCode).toBe(400);
    expect(json(badJson)).toEqual({ error: expect.objectContaining({ type: 'invalid_request_error' }) });
    const tools = await chat(headers, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools: [{}] });
    expect(tools.statusCode).toBe(400);
    const noMax = await messages(headers, { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] });
    expect(noMax.statusCode).toBe(400);
    expect(json(noMax)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('a JWT works too; out of credit is 429 insufficient_quota (OpenAI) and 400 "credit balance is too low" (Anthropic), not retried', async () => {
    const headers = await kit.as('broke-user');
    const openai = await chat(headers, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(openai.statusCode).toBe(429);
    expect(openai.headers['x-should-retry']).toBe('false');
    expect(json(openai)).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } });
    const anthropic = await messages(headers, { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(anthropic.statusCode).toBe(400);
    expect((json(anthropic)['error'] as { message: string }).message).toContain('credit balance is too low');
  });

  it('serves a paid completion from the scripted provider with usage and the charge in headers', async () => {
    await kit.grant('rich-user', 1_000_000);
    const response = await chat(await kit.as('rich-user'), { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 });
    expect(response.statusCode).toBe(200);
    const body = json(response) as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
    expect(Number(response.headers['x-credits-charged'])).toBeGreaterThan(0);
  });

  it('unknown model is 404 model_not_found / not_found_error', async () => {
    await kit.grant('model-user', 1_000_000);
    const headers = await kit.as('model-user');
    expect((await chat(headers, { model: 'nope', messages: [{ role: 'user', content: 'hi' }] })).statusCode).toBe(404);
    const anthropic = await messages(headers, { model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(json(anthropic)).toMatchObject({ error: { type: 'not_found_error' } });
  });
});

describe('key REST endpoints', () => {
  it('creates (secret once), lists without secrets, rotates and revokes a key on one\'s own account', async () => {
    const headers = await kit.as('owner');
    const created = await kit.inject({ method: 'POST', url: '/api/keys', headers, payload: { name: 'ci', limit: 500, period: 'day', models: ['gpt-4o-mini'] } });
    expect(created.statusCode).toBe(201);
    const { key, secret } = json(created) as { key: { keyId: string; limit: unknown }; secret: string };
    expect(key.limit).toEqual({ credits: 500, period: 'day' });
    const listed = await kit.inject({ method: 'GET', url: '/api/keys', headers });
    expect(listed.payload).not.toContain(secret.slice(29));
    expect((json(listed)['keys'] as { keyId: string }[]).map((k) => k.keyId)).toEqual([key.keyId]);

    const rotated = await kit.inject({ method: 'POST', url: `/api/keys/${key.keyId}/rotate`, headers });
    const fresh = (json(rotated) as { secret: string }).secret;
    expect(fresh).not.toBe(secret);
    expect((await chat({ authorization: `Bearer ${secret}` }, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).statusCode).toBe(401);
    expect((await chat({ authorization: `Bearer ${fresh}` }, { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).statusCode).toBe(403);

    expect((await kit.inject({ method: 'DELETE', url: `/api/keys/${key.keyId}`, headers })).statusCode).toBe(200);
    expect((await chat({ authorization: `Bearer ${fresh}` }, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).statusCode).toBe(401);
  });

  it('keys on another (team) account need credits:grant', async () => {
    const refused = await kit.inject({ method: 'POST', url: '/api/keys', headers: await kit.as('mallory'), payload: { accountId: 'team-x' } });
    expect(refused.statusCode).toBe(403);
    await kit.assignRole('admin-1', 'admin');
    const allowed = await kit.inject({ method: 'POST', url: '/api/keys', headers: await kit.as('admin-1'), payload: { accountId: 'team-x' } });
    expect(allowed.statusCode).toBe(201);
    const keyId = (json(allowed) as { key: { keyId: string } }).key.keyId;
    expect((await kit.inject({ method: 'DELETE', url: `/api/keys/${keyId}`, headers: await kit.as('mallory') })).statusCode).toBe(403);
  });
});
