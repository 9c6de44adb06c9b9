import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as E from 'fp-ts/lib/Either.js';
import type { Kit } from '../http/httpKit.js';
import { makeKit } from '../http/httpKit.js';

/**
 * The MCP server driven by the official TypeScript SDK's own client over
 * Streamable HTTP, as an agent would: list tools, call each, refusals, and the
 * charge of `chat` equal to the metered completion the WebSocket path runs.
 */
let kit: Kit;
let base: string;

const connect = async (token: string | undefined, headers: Record<string, string> = {}) => {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers } },
  });
  await client.connect(transport);
  return client;
};

type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, unknown> };
const call = async (client: Client, name: string, args: Record<string, unknown> = {}, onprogress?: (p: { progress: number; message?: string | undefined }) => void) =>
  (await client.callTool({ name, arguments: args }, undefined, onprogress === undefined ? {} : { onprogress })) as unknown as ToolResult;

beforeAll(async () => {
  kit = await makeKit({ extras: { port: 0 }, env: { HOST: '127.0.0.1' } });
  await kit.server.start();
  base = `http://127.0.0.1:${kit.server.info.port}`;
});
afterAll(async () => kit.close());

describe('MCP server at /mcp', () => {
  it('answers 401 with the protected-resource metadata when no token is sent, and serves that metadata', async () => {
    const response = await fetch(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer resource_metadata="http:\/\/localhost:\d+\/\.well-known\/oauth-protected-resource\/mcp"$/);
    const metadata = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(metadata['resource']).toMatch(/\/mcp$/);
    expect(metadata['scopes_supported']).toEqual(expect.arrayContaining(['credits:read', 'llm:use', 'sora2:use']));
  });

  it('refuses a token issued for another resource and an invalid token', async () => {
    const foreign = await kit.token('mallory', { audience: 'https://other.example/api' });
    await expect(connect(foreign)).rejects.toThrow(/401|Unauthorized/i);
    await expect(connect('not-a-jwt')).rejects.toThrow(/401|Unauthorized/i);
  });

  it('refuses a foreign Host or Origin (DNS rebinding)', async () => {
    const token = await kit.token('alice');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const evilOrigin = await fetch(`${base}/mcp`, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body });
    expect(evilOrigin.status).toBe(403);
    const local = await fetch(`${base}/mcp`, { method: 'POST', headers: { ...headers, origin: 'http://localhost:5173' }, body });
    expect(local.status).toBe(200);
  });

  it('lists the six tools', async () => {
    const client = await connect(await kit.token('lister'));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['chat', 'credits_balance', 'credits_history', 'sora2_generate', 'sora2_job_status', 'usage_summary']);
    await client.close();
  });

  it('reads the caller\'s balance, history and usage', async () => {
    await kit.grant('reader', 5000);
    const client = await connect(await kit.token('reader'));
    const balance = await call(client, 'credits_balance');
    expect(balance.structuredContent).toEqual({ userId: 'reader', balance: 5000, held: 0, available: 5000 });
    const history = await call(client, 'credits_history', { limit: 5 });
    expect((history.structuredContent?.['items'] as unknown[]).length).toBe(2); // AccountOpened + CreditsGranted
    const usage = await call(client, 'usage_summary');
    expect(usage.structuredContent).toMatchObject({ charged: 0, requests: 0 });
    await client.close();
  });

  it('charges chat exactly like the metered completion of the WebSocket path, streams progress, and never charges a repeated call twice', async () => {
    await kit.grant('chatter', 1_000_000);
    await kit.grant('ws-twin', 1_000_000);
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Tell me about ledgers.' }], maxTokens: 40 };
    const direct = await kit.app.completion.run({ requestId: 'twin-1', userId: 'ws-twin', preference: 'auto', ...request }, { chunk: () => undefined }, new AbortController().signal);
    if (E.isLeft(direct)) throw new Error(direct.left._tag);

    const client = await connect(await kit.token('chatter'));
    const progress: string[] = [];
    const first = await call(client, 'chat', { ...request, idempotencyKey: 'k-1' }, (p) => progress.push(p.message ?? ''));
    expect(first.isError).toBeFalsy();
    const body = first.structuredContent as Record<string, unknown>;
    expect((body['credits'] as Record<string, number>)['charged']).toBe(direct.right.charged);
    expect(direct.right.charged).toBeGreaterThan(0);
    expect(body['text']).toBe(progress.join(''));
    expect(progress.length).toBeGreaterThan(1);
    expect(body['replayed']).toBe(false);

    const again = await call(client, 'chat', { ...request, idempotencyKey: 'k-1' });
    expect(again.structuredContent?.['replayed']).toBe(true);
    const balance = await kit.app.ledger.balance('chatter');
    expect(balance.balance).toBe(1_000_000 - direct.right.charged);

    const reused = await call(client, 'chat', { ...request, maxTokens: 41, idempotencyKey: 'k-1' });
    expect(reused.isError).toBe(true);
    await client.close();
  });

  it('answers refusals as tool errors: no credits, bad input, missing scope', async () => {
    const broke = await connect(await kit.token('broke'));
    const refused = await call(broke, 'chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]?.text).toMatch(/Insufficient credits/);
    const invalid = await call(broke, 'chat', { model: 'gpt-4o-mini', messages: [] });
    expect(invalid.isError).toBe(true);
    await broke.close();

    const readOnly = await connect(await kit.token('scoped', { claims: { scope: 'credits:read' } }));
    expect((await call(readOnly, 'credits_balance')).isError).toBeFalsy();
    const chat = await call(readOnly, 'chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.isError).toBe(true);
    expect(chat.content[0]?.text).toMatch(/llm:use/);
    await readOnly.close();
  });

  it('starts a video job once per idempotency key and reports its status', async () => {
    await kit.grant('director', 1_000_000);
    const client = await connect(await kit.token('director'));
    const started = await call(client, 'sora2_generate', { prompt: 'A lighthouse at dawn', duration: 4, idempotencyKey: 'v-1' });
    expect(started.isError).toBeFalsy();
    const jobId = started.structuredContent?.['jobId'] as string;
    const repeat = await call(client, 'sora2_generate', { prompt: 'A lighthouse at dawn', duration: 4, idempotencyKey: 'v-1' });
    expect(repeat.structuredContent?.['jobId']).toBe(jobId);
    expect(repeat.structuredContent?.['replayed']).toBe(true);
    const status = await call(client, 'sora2_job_status', { jobId });
    expect(status.structuredContent?.['jobId']).toBe(jobId);
    const other = await connect(await kit.token('someone-else'));
    expect((await call(other, 'sora2_job_status', { jobId })).isError).toBe(true);
    await client.close();
    await other.close();
  });
});
