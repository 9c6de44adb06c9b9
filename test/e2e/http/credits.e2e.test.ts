import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mintDevToken } from '../../../adapters/auth/jwtMint.js';
import type { Service } from '../../../adapters/main.js';
import { startService } from '../../../adapters/main.js';
import { makeLogger } from '../../../adapters/logging.js';

/**
 * The REST API of the started service (composition root, real sockets):
 * the credits session docs/api.md shows with curl, the ops endpoints, and
 * concurrent retries of one deduction over separate connections.
 */
const SECRET = 'e2e-http-secret-0123456789abcdef-0123456789';
let service: Service;
let base: string;

const bearer = async (sub: string) => ({ authorization: `Bearer ${await mintDevToken(SECRET, sub)}` });
const call = async (method: string, path: string, sub: string | undefined, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(sub === undefined ? {} : await bearer(sub)), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text.startsWith('{') || text.startsWith('[') ? (JSON.parse(text) as Record<string, unknown>) : text };
};

beforeAll(async () => {
  service = await startService(
    { EVENT_STORE: 'memory:', JWT_SECRET: SECRET, PORT: '0', WS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMIT_REQUESTS_PER_MIN: '100000' },
    { logger: makeLogger('silent') },
  );
  base = service.http.url;
  const admin = await service.app.access.change('admin', { userId: 'cli:e2e', trusted: true }, { type: 'AssignRole', role: 'admin' });
  expect(admin._tag).toBe('Right');
});
afterAll(async () => service.stop());

describe('REST credits over HTTP', () => {
  it('grant, check, deduct, replay, balance and history', async () => {
    expect((await call('POST', '/api/credits/dana/grants', 'admin', { credits: 500, grantId: 'welcome' })).status).toBe(201);
    expect((await call('POST', '/api/credits/check', 'dana', { credits: 120, service: 'sora2' })).body).toMatchObject({ canSpend: true, available: 500 });
    const first = await call('POST', '/api/credits/deduct', 'dana', { credits: 120, service: 'sora2' }, { 'idempotency-key': 'e2e-1' });
    expect(first).toMatchObject({ status: 200, body: { charged: 120, balance: 380 } });
    const replay = await call('POST', '/api/credits/deduct', 'dana', { credits: 120, service: 'sora2' }, { 'idempotency-key': 'e2e-1' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect((await call('GET', '/api/credits/dana', 'dana')).body).toEqual({ userId: 'dana', balance: 380, held: 0, available: 380 });
    const history = await call('GET', '/api/credits/dana/history?limit=10', 'dana');
    expect((history.body as { items: { type: string }[] }).items.map((e) => e.type)).toEqual(['AccountOpened', 'CreditsGranted', 'CreditsDeducted']);
  });

  it('concurrent retries of one deduction on separate connections charge once', async () => {
    await call('POST', '/api/credits/erin/grants', 'admin', { credits: 100, grantId: 'g1' });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', '/api/credits/deduct', 'erin', { credits: 60, service: 'llm' }, { 'idempotency-key': 'same-request' })),
    );
    expect(results.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect((await call('GET', '/api/credits/erin', 'erin')).body).toMatchObject({ balance: 40 });
  });

  it('answers problem+json over the wire: 401, 413, 404', async () => {
    const unauthorized = await call('POST', '/api/credits/check', undefined, { credits: 1, service: 'llm' });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('content-type')).toBe('application/problem+json');
    const big = await call('POST', '/api/credits/check', 'dana', JSON.stringify({ credits: 1, service: 'llm', pad: 'x'.repeat(70_000) }));
    expect(big).toMatchObject({ status: 413, body: { type: '/problems/payload-too-large' } });
    expect((await call('GET', '/nope', undefined)).body).toMatchObject({ status: 404, type: '/problems/not-found' });
  });

  it('serves /health, /stats with the WebSocket gateway\'s numbers, /metrics and /openapi.json', async () => {
    expect((await call('GET', '/health', undefined)).body).toMatchObject({ ready: true, checks: { store: { kind: 'memory', ok: true } } });
    const stats = (await call('GET', '/stats', undefined)).body as Record<string, unknown>;
    expect(stats['gateway']).toBeDefined();
    expect(stats['gateway']).not.toEqual({ running: false });
    expect(String((await call('GET', '/metrics', undefined)).body)).toContain('http_requests_total');
    const doc = (await call('GET', '/openapi.json', undefined)).body as { servers: { url: string }[]; paths: Record<string, unknown> };
    expect(doc.servers[0]?.url).toBe(base);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/credits/deduct', '/api/sora2/generate']));
  });
});
