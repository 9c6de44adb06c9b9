import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { makeLogger } from '../../../adapters/logging.js';
import { problemTypeBySlug } from '../../../adapters/http/problemCatalog.js';
import type { Kit } from './httpKit.js';
import { json, makeKit, problemOf } from './httpKit.js';
import { validateOpenApi } from './validateOpenApi.js';

let kit: Kit;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
      done();
    },
  });
  kit = await makeKit({
    env: { RATE_LIMIT_REQUESTS_PER_MIN: '100000' },
    logger: makeLogger('info', sink),
    extras: { gatewayStats: () => ({ connections: 3, streams: 1 }) },
  });
});
afterAll(async () => kit.close());

describe('GET /health', () => {
  it('is ready on a reachable store and reports providers and adapters', async () => {
    const response = await kit.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    const body = json(response);
    expect(body).toMatchObject({ status: 'ok', live: true, ready: true });
    expect(body['checks']).toMatchObject({
      store: { kind: 'memory', ok: true },
      redis: { configured: false },
      sessions: { kind: 'inprocess' },
      limiter: { kind: 'inprocess' },
    });
    const providers = (body['checks'] as { providers: { kind: string; breaker: string }[] }).providers;
    expect(providers.length).toBeGreaterThan(0);
    for (const p of providers) expect(p).toMatchObject({ kind: 'scripted', breaker: 'closed' });
  });

  it('is 503 when the store does not answer, while /health/live stays 200', async () => {
    const broken = await makeKit({
      patch: (app) => ({
        ...app,
        store: {
          ...app.store,
          readAll: () => ({
            [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('disk gone')) }),
          }),
        },
      }),
    });
    try {
      const response = await broken.inject({ method: 'GET', url: '/health' });
      expect(response.statusCode).toBe(503);
      expect(json(response)).toMatchObject({ status: 'unavailable', ready: false, checks: { store: { ok: false, error: 'disk gone' } } });
      expect((await broken.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    } finally {
      await broken.close();
    }
  });
});

describe('GET /stats and /metrics', () => {
  it('shows gateway stats, sweeper and adapters', async () => {
    const body = json(await kit.inject({ method: 'GET', url: '/stats' }));
    expect(body).toMatchObject({ gateway: { connections: 3, streams: 1 }, sweeper: { tracked: expect.any(Number) }, store: { kind: 'memory' } });
  });

  it('counts requests by route template and status, ledger commands and credits charged', async () => {
    await kit.grant('metered', 50);
    const headers = { ...(await kit.as('metered')), 'idempotency-key': 'm1' };
    await kit.inject({ method: 'POST', url: '/api/credits/deduct', payload: { credits: 7, service: 'sora2' }, headers });
    await kit.inject({ method: 'GET', url: '/api/credits/metered', headers });
    await kit.inject({ method: 'GET', url: '/nowhere' });
    const response = await kit.inject({ method: 'GET', url: '/metrics' });
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.payload;
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/credits\/deduct",status="200"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/credits\/\{userId\}",status="200"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/\{p\*\}",status="404"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/credits\/deduct",status="200"\}/);
    expect(text).toMatch(/ledger_commands_total\{command="deduct",outcome="ok"\} 1/);
    expect(text).toMatch(/credits_charged_total\{service="sora2"\} 7/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('keeps a registry per server: a second server starts with zero counts', async () => {
    const other = await makeKit();
    try {
      const text = (await other.inject({ method: 'GET', url: '/metrics' })).payload;
      expect(text).not.toMatch(/credits_charged_total\{/);
    } finally {
      await other.close();
    }
  });
});

describe('OpenAPI document and docs', () => {
  it('validates as OpenAPI 3.1 and describes every route with operation ids and both security schemes', async () => {
    const response = await kit.inject({ method: 'GET', url: '/openapi.json', headers: { host: 'api.example.test' } });
    const doc = json(response) as { openapi: string; servers: { url: string }[]; paths: Record<string, Record<string, Record<string, unknown>>>; components: { securitySchemes: Record<string, unknown> } };
    expect(validateOpenApi(doc)).toEqual({ valid: true, message: 'valid' });
    // The validator can fail: a document without its info object is refused.
    expect(validateOpenApi({ ...doc, info: undefined }).valid).toBe(false);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'http://api.example.test' }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearerJwt', 'oauth', 'sora2Session']);
    const deduct = doc.paths['/api/credits/deduct']?.['post'];
    expect(deduct).toMatchObject({ operationId: 'deductCredits', security: [{ oauth: ['credits:deduct'] }, { bearerJwt: [] }], 'x-openai-isConsequential': true });
    // The key may also come in the body (idempotencyKey), for clients that cannot send headers.
    expect(deduct?.['parameters']).toEqual([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false })]);
    const body = (deduct?.['requestBody'] as { content: Record<string, { schema: Record<string, unknown> }> }).content['application/json']?.schema;
    expect(body).toMatchObject({ required: ['credits', 'service'], properties: { credits: { type: 'integer', minimum: 1 } }, additionalProperties: false });
    const operations = Object.values(doc.paths).flatMap((item) => Object.values(item));
    for (const op of operations) {
      expect(typeof op['operationId']).toBe('string');
      expect(String(op['description']).length).toBeLessThanOrEqual(300);
    }
    for (const path of ['/api/credits/check', '/api/credits/{userId}', '/api/credits/{userId}/history', '/api/credits/{userId}/grants', '/api/credits/{userId}/balance', '/health', '/stats', '/metrics']) {
      expect(doc.paths[path]).toBeDefined();
    }
    // Every route registered on the server is in the document, except the documentation itself, endpoints
    // that their own protocol describes (MCP at /mcp, OAuth under /oauth with RFC 8414/9728 metadata under
    // /.well-known) and the pages a person sees in a browser during a sign-in.
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)));
    const undocumented = kit.server
      .table()
      .map((r) => `${r.method.toUpperCase()} ${r.path}`)
      .filter((r) => !documented.has(r) && !/\/(openapi\.json|docs|problems)/.test(r))
      .filter((r) => !/ (\/mcp|\/oauth\/|\/\.well-known\/|\/api\/sora2\/auth\/device)/.test(r))
      // The /usage page and its assets are for a browser, like the sign-in pages; the usage API is documented.
      .filter((r) => !/ \/usage($|\/assets\/)/.test(r));
    expect(undocumented).toEqual([]);
  });

  it('serves /docs with Swagger UI and a plain list of operations', async () => {
    const page = await kit.inject({ method: 'GET', url: '/docs' });
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.payload).toContain('deductCredits');
    expect(page.payload).toContain('/docs/assets/swagger-ui-bundle.js');
    const bundle = await kit.inject({ method: 'GET', url: '/docs/assets/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.rawPayload.length).toBeGreaterThan(100_000);
    problemOf(await kit.inject({ method: 'GET', url: '/docs/assets/package.json' }), 404, 'not-found');
  });

  it('explains every problem type at /problems/<slug>', async () => {
    expect(json(await kit.inject({ method: 'GET', url: '/problems/insufficient-credits' }))).toMatchObject({ status: 402, type: '/problems/insufficient-credits' });
    problemOf(await kit.inject({ method: 'GET', url: '/problems/no-such-thing' }), 404, 'not-found');
    problemOf(await kit.inject({ method: 'GET', url: '/nowhere' }), 404, 'not-found');
  });

  it('lists in the catalog every problem slug the HTTP adapters can produce', () => {
    const dir = join(process.cwd(), 'adapters', 'http');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const slugs = new Set<string>();
    for (const file of files) {
      const source = readFileSync(join(dir, file), 'utf8');
      for (const m of source.matchAll(/(?:problem\(\s*\d{3},\s*|unavailable\(\s*)'([a-z0-9-]+)'/g)) slugs.add(m[1] ?? '');
      for (const m of source.matchAll(/^\s+\d{3}: '([a-z0-9-]+)',$/gm)) slugs.add(m[1] ?? '');
    }
    expect(slugs.size).toBeGreaterThan(20);
    expect([...slugs].filter((s) => !problemTypeBySlug.has(s))).toEqual([]);
  });
});

describe('request logging', () => {
  it('logs one line per request without the Authorization header or token query values', async () => {
    const token = await kit.token('logged');
    logLines.length = 0;
    await kit.inject({ method: 'GET', url: `/api/credits/logged?token=${token}&code=abc123`, headers: { authorization: `Bearer ${token}` } });
    const text = logLines.join('\n');
    expect(text).toContain('"path":"/api/credits/logged?token=[REDACTED]&code=[REDACTED]"');
    // One line per request, not two (hapi-pino's response line is off).
    expect(logLines.join('').split('/api/credits/logged').length - 1).toBe(1);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[2] ?? 'unused');
    expect(text).not.toContain('abc123');
  });
});
