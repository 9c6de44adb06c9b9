import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { HostileKit } from './hostileKit.js';
import { leaksIn, rawExchange, startHostileKit } from './hostileKit.js';

/**
 * No secret in any log, by construction (issue 11). Every kind of request
 * Node's HTTP parser refuses, each carrying a real bearer token, a `?code=`
 * value and a body secret, is sent to the REST port and to the WebSocket
 * port; then the whole log output is searched for the three secrets in every
 * encoding (plain, base64, base64url, hex, JSON byte array, URL-encoded).
 * Before the fix the parser error was logged with its raw bytes as a JSON
 * byte array: 20 KB in became 81 KB of log, one error line with a stack per request.
 */

const CODE = 'CODE-7f3a9c1e5b2d4f60';
const BODY_SECRET = 'BODY-SECRET-c4e8a1f9b3d7';

const malformed = (token: string): Record<string, string> => {
  const body = JSON.stringify({ credits: 1, service: 'sora2', note: BODY_SECRET });
  const auth = `Authorization: Bearer ${token}`;
  return {
    oversizedHeader: `GET /api/credits/alice?code=${CODE} HTTP/1.1\r\nHost: x\r\n${auth}\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
    controlCharInHeaderName: `POST /api/credits/deduct?code=${CODE} HTTP/1.1\r\nHost: x\r\n${auth}\r\nX-B\u0001ad: 1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    badRequestLine: `GET /api/credits/alice?code=${CODE} HTTP/1.1 extra\r\nHost: x\r\n${auth}\r\n\r\n${body}`,
    contentLengthAndChunked: `POST /api/credits/deduct?code=${CODE} HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
    badChunk: `POST /api/credits/deduct?code=${CODE} HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
    spaceInHeaderName: `GET /health/live?code=${CODE} HTTP/1.1\r\nHost: x\r\n${auth}\r\nBad Header: ${BODY_SECRET}\r\n\r\n`,
    nulInUrl: `GET /api/credits/alice?code=${CODE}\u0000 HTTP/1.1\r\nHost: x\r\n${auth}\r\n\r\n`,
  };
};

describe('hostile: no secret reaches a log', () => {
  let kit: HostileKit;
  let token: string;
  beforeAll(async () => {
    kit = await startHostileKit();
    token = await kit.token('alice');
  });
  afterAll(() => kit.stop());

  it('answers every malformed request on the REST port with problem+json and logs none of its bytes', async () => {
    const before = kit.logText().length;
    for (const [name, bytes] of Object.entries(malformed(token))) {
      const answer = await rawExchange(kit.http.port, bytes);
      expect({ name, status: /^HTTP\/1\.1 4\d\d /.test(answer) }).toEqual({ name, status: true });
      expect({ name, problem: answer.includes('Content-Type: application/problem+json') && answer.includes('"status":4') }).toEqual({ name, problem: true });
    }
    const oversized = await rawExchange(kit.http.port, malformed(token)['oversizedHeader'] ?? '');
    expect(oversized).toMatch(/^HTTP\/1\.1 431 /);
    expect(oversized).toContain('/problems/request-header-fields-too-large');
    const written = kit.logText().slice(before);
    expect(leaksIn(kit.logText(), [token, CODE, BODY_SECRET])).toEqual([]);
    // One short line stands for a burst (rate-limited), never a stack or a byte array.
    expect(written.length).toBeLessThan(2_000);
    expect(written).not.toMatch(/rawPacket|stack/);
  });

  it('150 half-open sockets and a burst of malformed requests write at most a few short lines', async () => {
    const before = kit.logText().length;
    const bytes = malformed(token)['badRequestLine'] ?? '';
    await Promise.all(Array.from({ length: 150 }, (_, i) => rawExchange(kit.http.port, i % 2 === 0 ? bytes : bytes.slice(0, 40), 300)));
    const written = kit.logText().slice(before);
    expect(written.split('\n').filter((l) => l.includes('malformed HTTP request')).length).toBeLessThanOrEqual(3);
    expect(written.length).toBeLessThan(3_000);
    expect(leaksIn(written, [token, CODE, BODY_SECRET])).toEqual([]);
  });

  it('the WebSocket port refuses the same requests without logging them', async () => {
    for (const bytes of Object.values(malformed(token))) {
      const answer = await rawExchange(kit.ws.port, bytes);
      expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    }
    expect(leaksIn(kit.logText(), [token, CODE, BODY_SECRET])).toEqual([]);
  });

  it('well-formed requests that fail (bad JSON, bad token, unknown route) log no secret either', async () => {
    const url = kit.http.url;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'k-1' };
    await fetch(`${url}/api/credits/deduct?code=${CODE}`, { method: 'POST', headers, body: `{"credits": 1, "note": "${BODY_SECRET}"` });
    await fetch(`${url}/api/credits/deduct?code=${CODE}`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}x` }, body: '{}' });
    await fetch(`${url}/nowhere?code=${CODE}&token=${token}`, { headers });
    await fetch(`${url}/api/sora2/auth/callback?code=${CODE}&state=${BODY_SECRET}`);
    expect(leaksIn(kit.logText(), [token, CODE])).toEqual([]);
  });
});
