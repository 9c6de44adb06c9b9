import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { App } from '../../../adapters/app.js';
import { buildApp } from '../../../adapters/app.js';
import { loadConfig } from '../../../adapters/config.js';
import type { HttpServer } from '../../../adapters/http/server.js';
import { startHttpServer } from '../../../adapters/http/server.js';
import { makeLogger } from '../../../adapters/logging.js';
import { estimateFor } from '../../../application/apiKeys/meteredWithKey.js';
import type { CompatKit } from './compatKit.js';
import { eventually, startCompatKit } from './compatKit.js';
import { tryUpgrade } from '../ws/wsTestKit.js';

/**
 * Keys under load and across instances: the key's limit holds under 50
 * concurrent requests, a revocation is refused at once on every port and by
 * a second instance sharing the SQLite store, and the secret never reaches a
 * log line or the history.
 */
let kit: CompatKit;
let other: { app: App; http: HttpServer };
const dir = mkdtempSync(join(tmpdir(), 'keys-e2e-'));
const messages = [{ role: 'user' as const, content: 'Say hello' }];
const openai = (baseURL: string, apiKey: string) => new OpenAI({ apiKey, baseURL: `${baseURL}/v1`, maxRetries: 0, timeout: 30_000 });

beforeAll(async () => {
  const store = `sqlite:${join(dir, 'ledger.db')}`;
  kit = await startCompatKit({ env: { EVENT_STORE: store, RATE_LIMIT_TOKENS_PER_MIN: '1000000000', LLM_FALLBACK_MAP: '{}' }, resilience: { connectTimeoutMs: 15_000, firstChunkTimeoutMs: 15_000 } });
  const env = { ...kit.app.env, EVENT_STORE: store } as Record<string, string>;
  const app = await buildApp(loadConfig(env), env, makeLogger('silent'));
  other = { app, http: await startHttpServer(app, { port: 0 }) };
});
afterAll(async () => {
  await other.http.stop();
  await other.app.close();
  await kit.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('API keys', () => {
  it('50 concurrent requests on a key worth N requests: exactly N succeed and its spend never passes the limit', async () => {
    const account = 'team-load';
    await kit.grant(account, 100_000_000);
    const req = { requestId: 'x', preference: 'auto' as const, model: 'gpt-4o', messages, maxTokens: 50 };
    const hold = estimateFor({ select: kit.app.select, prices: () => kit.app.llm.prices.current() }, req)?.holdCredits ?? 0;
    expect(hold).toBeGreaterThan(0);
    const allowed = 7;
    const { secret, keyId } = await kit.newKey({ accountId: account, limit: { credits: allowed * hold, period: 'month' } });
    // A slow upstream (and no fallback): every hold is decided before the first one settles and gives room back
    // (settles charge less than their holds, so a settle that came first would leave room for an eighth).
    // 8 s: 50 holds take well under that even on a loaded CI machine; 2 s did not always.
    kit.openai.setDefault({ firstByteDelayMs: 8_000 });
    const client = openai(kit.http.url, secret);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50 })));
    kit.openai.reset();
    kit.claude.reset();
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.RateLimitError>);
    expect(ok).toHaveLength(allowed);
    expect(refused.every((e) => e instanceof OpenAI.RateLimitError && e.code === 'insufficient_quota')).toBe(true);
    const key = await kit.app.keys.describe(keyId);
    expect(key?.held).toBe(0);
    expect(key?.spentTotal).toBeGreaterThan(0);
    expect(key?.spentTotal).toBeLessThanOrEqual(allowed * hold);
    const charged = (await kit.charges(account)).reduce((a, b) => a + b, 0);
    expect(key?.spentTotal).toBe(charged);
  }, 60_000);

  it('a revoked key is refused at once on REST (both APIs), on the WebSocket upgrade and by another instance', async () => {
    const account = 'team-revoke';
    await kit.grant(account, 1_000_000);
    const { secret, keyId } = await kit.newKey({ accountId: account });
    // Both instances have the key cached as active.
    await openai(kit.http.url, secret).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 20 });
    await openai(other.http.url, secret).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 20 });
    expect(await tryUpgrade(`${kit.ws.url}/`, { 'x-api-key': secret })).toBe('open');

    const revoked = await other.app.keys.revoke(keyId, 'leaked');
    expect(revoked._tag).toBe('Right');
    await expect(openai(kit.http.url, secret).chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(new Anthropic({ apiKey: secret, baseURL: kit.http.url, maxRetries: 0 }).messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages })).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    );
    await expect(openai(other.http.url, secret).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const upgrade = await tryUpgrade(`${kit.ws.url}/`, { authorization: `Bearer ${secret}` });
    expect(upgrade).not.toBe('open');
    expect(upgrade !== 'open' && upgrade.status).toBe(401);
  });

  it('a socket opened with a key pays through the key and stops at its revocation', async () => {
    const account = 'team-ws';
    await kit.grant(account, 1_000_000);
    const { secret, keyId } = await kit.newKey({ accountId: account });
    const { openSocket } = await import('../ws/wsTestKit.js');
    const socket = await openSocket(`${kit.ws.url}/`, { headers: { 'x-api-key': secret } });
    socket.send({ id: 'a', type: 'chat', model: 'gpt-4o', messages, stream: true, maxTokens: 20 });
    const first = await socket.result('a');
    expect(first.end.type).toBe('done');
    await eventually(async () => (await kit.app.keys.describe(keyId))?.spentTotal === first.end.credits?.charged);
    await other.app.keys.revoke(keyId, 'leaked');
    socket.send({ id: 'b', type: 'chat', model: 'gpt-4o', messages, stream: true, maxTokens: 20 });
    const second = await socket.result('b');
    expect(second.end.error?.code).toBe('FORBIDDEN');
    socket.ws.terminate();
  });

  it('the secret never appears in a log line or in the stored history; only its hash does', async () => {
    const { secret } = await kit.newKey({ accountId: 'team-secret' });
    await openai(kit.http.url, secret).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 }).catch(() => undefined);
    await openai(kit.http.url, `${secret}x`).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 10 }).catch(() => undefined);
    await tryUpgrade(`${kit.ws.url}/?token=${secret}`);
    const random = secret.slice('clg_'.length + 24 + 1);
    expect(random.length).toBe(43);
    expect(kit.logs.some((line) => line.includes(random))).toBe(false);
    expect(kit.logs.some((line) => line.includes('compat_usage'))).toBe(true);
    for await (const event of kit.app.store.readAll()) expect(JSON.stringify(event)).not.toContain(random);
  });
});
