import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { capturingLogger } from '../../support/logCapture.js';
import type { Kit } from './httpKit.js';
import { makeKit } from './httpKit.js';

/** The request line: method, route, status, duration, remote address, user id, request id (and no token). */
const { lines, logger } = capturingLogger();

let kit: Kit;
beforeAll(async () => {
  kit = await makeKit({ logger });
  await kit.grant('carol', 500);
});
afterAll(() => kit.close());

const requestLines = () => lines.filter((l) => l['msg'] === 'request');

describe('request log line and x-request-id', () => {
  it('keeps a valid incoming x-request-id, returns it, and logs the full request line without the token', async () => {
    const headers = await kit.as('carol');
    const response = await kit.inject({ method: 'GET', url: '/api/credits/carol', headers: { ...headers, 'x-request-id': 'trace-abc.123' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('trace-abc.123');
    const line = requestLines().find((l) => l['requestId'] === 'trace-abc.123');
    expect(line).toMatchObject({ method: 'GET', route: '/api/credits/{userId}', status: 200, userId: 'carol', remoteAddress: '127.0.0.1' });
    expect(typeof line?.['durationMs']).toBe('number');
    const token = (headers['authorization'] ?? '').replace('Bearer ', '');
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('generates an id when none or an unsafe one is sent, errors included', async () => {
    const plain = await kit.inject({ method: 'GET', url: '/api/credits/carol' });
    expect(plain.statusCode).toBe(401);
    expect(plain.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await kit.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const line = requestLines().find((l) => l['requestId'] === plain.headers['x-request-id']);
    expect(line).toMatchObject({ method: 'GET', status: 401 });
    expect(line?.['userId']).toBeUndefined();
  });
});

describe('a response the handler wrote itself (h.abandon: SSE streams, MCP, OAuth)', () => {
  it('is logged and counted once, when the stream ends, with its status and whole duration', async () => {
    await kit.grant('stream-user', 1_000_000);
    const headers = { ...(await kit.as('stream-user')), 'x-request-id': 'sse-req-1' };
    const started = Date.now();
    const response = await kit.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers,
      payload: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 },
    });
    const wallMs = Date.now() - started;
    expect(response.statusCode).toBe(200);
    expect(response.payload).toContain('data: [DONE]');
    expect(response.headers['x-request-id']).toBe('sse-req-1');
    // hapi's 'response' event fired when the handler returned; the line waits for the stream's end.
    await new Promise((resolve) => setImmediate(resolve));
    const mine = requestLines().filter((l) => l['requestId'] === 'sse-req-1');
    expect(mine).toHaveLength(1);
    // The route authenticates its caller itself: the access line still names them, and the usage line joins it.
    expect(mine[0]).toMatchObject({ method: 'POST', route: '/v1/chat/completions', status: 200, userId: 'stream-user' });
    expect(mine[0]?.['cutShort']).toBeUndefined();
    expect(lines.filter((l) => l['event'] === 'compat_usage' && l['httpRequestId'] === 'sse-req-1')).toEqual([
      expect.objectContaining({ userId: 'stream-user', api: 'openai', stream: true, outcome: 'completed' }),
    ]);
    // The stream's whole duration, not the moment the handler returned (a few ms after the first frame).
    expect(mine[0]?.['durationMs']).toBeGreaterThanOrEqual(wallMs / 2);
    const metrics = (await kit.inject({ method: 'GET', url: '/metrics' })).payload;
    expect(metrics).toMatch(/http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="200"\} 1\b/);
    expect(metrics).not.toMatch(/route="\/v1\/chat\/completions",status="0"/);
  });
});

describe('a request paid with an API key', () => {
  it('names the key and its account on the request line, never the secret', async () => {
    await kit.grant('key-owner', 1_000_000);
    const created = await kit.inject({ method: 'POST', url: '/api/keys', headers: await kit.as('key-owner'), payload: { name: 'log-test' } });
    expect(created.statusCode).toBe(201);
    const { key, secret } = JSON.parse(created.payload) as { key: { keyId: string }; secret: string };
    const response = await kit.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${secret}`, 'x-request-id': 'key-req-1' },
      payload: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 },
    });
    expect(response.statusCode).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(requestLines().filter((l) => l['requestId'] === 'key-req-1')).toEqual([
      expect.objectContaining({ status: 200, keyId: key.keyId, accountId: 'key-owner' }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(secret);
  });
});

describe('a stream the client cuts short', () => {
  it('is logged when the client leaves, marked cutShort, with the status that was sent; one read to its end is not', async () => {
    await kit.grant('cut-user', 1_000_000);
    await kit.server.start();
    try {
      const controller = new AbortController();
      const response = await fetch(`${kit.server.info.uri}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...(await kit.as('cut-user')), 'content-type': 'application/json', 'x-request-id': 'cut-req-1' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 200 }),
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read(); // the first frame
      controller.abort();
      await expect(reader.read()).rejects.toThrow();
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && !requestLines().some((l) => l['requestId'] === 'cut-req-1')) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(requestLines().filter((l) => l['requestId'] === 'cut-req-1')).toEqual([
        expect.objectContaining({ route: '/v1/chat/completions', status: 200, cutShort: true, userId: 'cut-user' }),
      ]);
      // The same stream read to its end over a real socket is not marked.
      const whole = await fetch(`${kit.server.info.uri}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...(await kit.as('cut-user')), 'content-type': 'application/json', 'x-request-id': 'whole-req-1' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
      });
      expect(await whole.text()).toContain('data: [DONE]');
      const until = Date.now() + 5_000;
      while (Date.now() < until && !requestLines().some((l) => l['requestId'] === 'whole-req-1')) await new Promise((resolve) => setTimeout(resolve, 20));
      const wholeLines = requestLines().filter((l) => l['requestId'] === 'whole-req-1');
      expect(wholeLines).toEqual([expect.objectContaining({ status: 200 })]);
      expect(wholeLines[0]?.['cutShort']).toBeUndefined();
    } finally {
      await kit.server.stop();
    }
  });
});
