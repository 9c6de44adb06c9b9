import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { DEFAULT_CHUNKS } from '../../support/openaiFixture.js';
import type { CompatKit } from './compatKit.js';
import { eventually, startCompatKit } from './compatKit.js';

/** The official `openai` SDK, changed only in baseURL and key, against the gateway whose OpenAI provider is the fixture. */
let kit: CompatKit;
let n = 0;
const user = () => `oa-user-${++n}`;
const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${kit.http.url}/v1`, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'Say hello' }];

beforeAll(async () => {
  kit = await startCompatKit();
});
afterAll(async () => kit.stopAll());
beforeEach(() => kit.openai.reset());

describe('OpenAI SDK against /v1', () => {
  it('streams the upstream text, with include_usage, and charges what the WebSocket path charges for the same request', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    const { secret } = await kit.newKey({ accountId: account });
    const stream = await client(secret).chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true }, max_tokens: 100 });
    const texts: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) texts.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts.join('')).toBe(DEFAULT_CHUNKS.join(''));
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    await eventually(async () => (await kit.charges(account)).length === 1);

    const wsUser = user();
    await kit.grant(wsUser, 1_000_000);
    const socket = await kit.open(wsUser);
    socket.send({ id: 'r1', type: 'chat', model: 'gpt-4o', messages, stream: true, maxTokens: 100 });
    const ws = await socket.result('r1');
    expect(ws.text).toBe(DEFAULT_CHUNKS.join(''));
    expect(await kit.charges(account)).toEqual(await kit.charges(wsUser));
    expect((await kit.charges(account))[0]).toBeGreaterThan(0);
  });

  it('answers without streaming, with usage and the same text', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    const { secret } = await kit.newKey({ accountId: account });
    const completion = await client(secret).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 100 });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_CHUNKS.join(''));
    expect(completion.object).toBe('chat.completion');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    expect(await kit.charges(account)).toHaveLength(1);
  });

  it('lists the price sheet models', async () => {
    const account = user();
    const { secret } = await kit.newKey({ accountId: account, models: ['gpt-4o', 'claude-sonnet-4-5'] });
    const ids: string[] = [];
    for await (const model of client(secret).models.list()) ids.push(model.id);
    expect(ids.sort()).toEqual(['claude-sonnet-4-5', 'gpt-4o']);
  });

  it('surfaces 401, 403, insufficient quota and rate limits as the SDK\'s own error classes', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    await expect(client('clg_000000000000000000000000_' + 'x'.repeat(43)).chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    const narrow = await kit.newKey({ accountId: account, models: ['gpt-4o-mini'] });
    await expect(client(narrow.secret).chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);

    const poor = user();
    await kit.grant(poor, 1);
    const poorKey = await kit.newKey({ accountId: poor });
    const quota = await client(poorKey.secret).chat.completions.create({ model: 'gpt-4o', messages, stream: true }).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(OpenAI.RateLimitError);
    expect((quota as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');

    const limited = await kit.newKey({ accountId: account, limit: { credits: 1, period: 'day' } });
    const keyQuota = await client(limited.secret).chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect((keyQuota as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');

    const slow = await kit.newKey({ accountId: account, rateLimits: { requestsPerMin: 1, tokensPerMin: 1_000_000 } });
    await client(slow.secret).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50 });
    const rate = await client(slow.secret).chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50 }).catch((e: unknown) => e);
    expect(rate).toBeInstanceOf(OpenAI.RateLimitError);
    expect((rate as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    expect(Number((rate as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after'))).toBeGreaterThan(0);

    const bad = await client(narrow.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('an abort mid-stream is charged for what was produced, less than the hold', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    const { secret, keyId } = await kit.newKey({ accountId: account });
    const chunks = Array.from({ length: 40 }, (_, i) => ` word${i}`);
    kit.openai.enqueue({ chunks, chunkDelayMs: 40 });
    const stream = await client(secret).chat.completions.create({ model: 'gpt-4o', messages, stream: true, max_tokens: 500 });
    let seen = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) seen += 1;
      if (seen === 3) stream.controller.abort();
    }
    await eventually(async () => (await kit.charges(account)).length === 1);
    const events = await kit.accountEvents(account);
    const held = events.find((e) => e.type === 'CreditsReserved')?.data['amount'] as number;
    const [charged] = await kit.charges(account);
    expect(charged).toBeGreaterThan(0);
    expect(charged).toBeLessThan(held);
    await eventually(async () => (await kit.app.keys.describe(keyId))?.held === 0);
    expect((await kit.app.keys.describe(keyId))?.spentTotal).toBe(charged);
  });
});
