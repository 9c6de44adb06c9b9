import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import { DEFAULT_CHUNKS } from '../../support/openaiFixture.js';
import type { CompatKit } from './compatKit.js';
import { eventually, startCompatKit } from './compatKit.js';

/** The official `@anthropic-ai/sdk`, changed only in baseURL and key, against the gateway whose Anthropic provider is the fixture. */
let kit: CompatKit;
let n = 0;
const user = () => `an-user-${++n}`;
const client = (apiKey: string) => new Anthropic({ apiKey, baseURL: kit.http.url, maxRetries: 0 });
const model = 'claude-sonnet-4-5';
const messages = [{ role: 'user' as const, content: 'Say hello' }];

beforeAll(async () => {
  kit = await startCompatKit();
});
afterAll(async () => kit.stopAll());
beforeEach(() => kit.claude.reset());

describe('Anthropic SDK against /v1/messages', () => {
  it('streams the upstream text (x-api-key) and charges what the WebSocket path charges', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    const { secret } = await kit.newKey({ accountId: account });
    const stream = client(secret).messages.stream({ model, max_tokens: 100, messages, system: 'Be brief.' });
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const final = await stream.finalMessage();
    expect(texts.join('')).toBe(DEFAULT_CHUNKS.join(''));
    expect(final.content[0]).toMatchObject({ type: 'text', text: DEFAULT_CHUNKS.join('') });
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.input_tokens).toBeGreaterThan(0);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    await eventually(async () => (await kit.charges(account)).length === 1);

    const wsUser = user();
    await kit.grant(wsUser, 1_000_000);
    const socket = await kit.open(wsUser);
    socket.send({ id: 'r1', type: 'chat', provider: 'claude', model, messages: [{ role: 'system', content: 'Be brief.' }, ...messages], stream: true, maxTokens: 100 });
    expect((await socket.result('r1')).text).toBe(DEFAULT_CHUNKS.join(''));
    expect(await kit.charges(account)).toEqual(await kit.charges(wsUser));
  });

  it('answers without streaming', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    const { secret } = await kit.newKey({ accountId: account });
    const message = await client(secret).messages.create({ model, max_tokens: 100, messages });
    expect(message.content).toEqual([{ type: 'text', text: DEFAULT_CHUNKS.join('') }]);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(await kit.charges(account)).toHaveLength(1);
  });

  it('surfaces 401, 403, a low balance and rate limits as the SDK\'s own error classes', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    await expect(client('clg_000000000000000000000000_' + 'x'.repeat(43)).messages.create({ model, max_tokens: 10, messages })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const narrow = await kit.newKey({ accountId: account, models: ['claude-haiku-4-5'] });
    await expect(client(narrow.secret).messages.create({ model, max_tokens: 10, messages })).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);

    const poor = user();
    await kit.grant(poor, 1);
    const poorKey = await kit.newKey({ accountId: poor });
    const low = await client(poorKey.secret).messages.create({ model, max_tokens: 100, messages, stream: true }).catch((e: unknown) => e);
    expect(low).toBeInstanceOf(Anthropic.BadRequestError);
    expect((low as Error).message).toContain('credit balance is too low');

    const slow = await kit.newKey({ accountId: account, rateLimits: { requestsPerMin: 1, tokensPerMin: 1_000_000 } });
    await client(slow.secret).messages.create({ model, max_tokens: 50, messages });
    await expect(client(slow.secret).messages.create({ model, max_tokens: 50, messages })).rejects.toBeInstanceOf(Anthropic.RateLimitError);
  });

  it('an abort mid-stream is charged for what was produced', async () => {
    const account = user();
    await kit.grant(account, 1_000_000);
    const { secret, keyId } = await kit.newKey({ accountId: account });
    kit.claude.enqueue({ chunks: Array.from({ length: 40 }, (_, i) => ` word${i}`), chunkDelayMs: 40 });
    const stream = client(secret).messages.stream({ model, max_tokens: 500, messages });
    let seen = 0;
    stream.on('text', () => {
      seen += 1;
      if (seen === 3) stream.abort();
    });
    await stream.done().catch(() => undefined);
    await eventually(async () => (await kit.charges(account)).length === 1);
    const held = (await kit.accountEvents(account)).find((e) => e.type === 'CreditsReserved')?.data['amount'] as number;
    const [charged] = await kit.charges(account);
    expect(charged).toBeGreaterThan(0);
    expect(charged).toBeLessThan(held);
    await eventually(async () => (await kit.app.keys.describe(keyId))?.held === 0);
    expect((await kit.app.keys.describe(keyId))?.spentTotal).toBe(charged);
  });
});
