import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { makeLogger } from '../../../adapters/logging.js';
import type { Kit } from './httpKit.js';
import { makeKit } from './httpKit.js';

/** The request line: method, route, status, duration, remote address, user id, request id (and no token). */
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let kit: Kit;
beforeAll(async () => {
  kit = await makeKit({ logger: makeLogger('info', sink) });
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
