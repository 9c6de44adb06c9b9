import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countChatTokens, countTextTokens } from '../../../adapters/llm/tokenizer.js';
import { connectGateway } from '../../../adapters/ws/client.js';
import type { Kit } from './wsTestKit.js';
import { ask, priceOf, startKit } from './wsTestKit.js';

/** A paid answer, end to end: real SDK adapters against the fixture servers, a real socket, the ledger. */
describe('WebSocket gateway: happy paths', () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await startKit();
  });
  afterAll(() => kit.stop());

  it.each([
    ['openai', 'gpt-4o-mini', 'openai'],
    ['claude', 'claude-3-5-haiku-latest', 'claude'],
    ['auto', 'claude-haiku-4-5', 'claude'],
    ['auto', 'gpt-4.1-nano', 'openai'],
  ] as const)('provider %s, model %s: streams chunks with seq 1..n, charges the price sheet exactly', async (provider, model, servedBy) => {
    const user = `happy-${provider}-${model}`;
    await kit.grant(user, 100_000);
    const fixture = servedBy === 'openai' ? kit.openai : kit.claude;
    const usage = { inputTokens: 31, outputTokens: 7 };
    fixture.enqueue({ chunks: ['Hel', 'lo', ' there', '!'], usage });
    const socket = await kit.open(user);
    socket.send(ask('r1', { provider, model }));
    const { chunks, text, end } = await socket.result('r1');

    expect(text).toBe('Hello there!');
    expect(chunks.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    expect(end.type).toBe('done');
    expect(end.provider).toBe(servedBy);
    expect(end.ended).toBe('completed');
    expect(end.usage).toEqual({ ...usage, totalTokens: 38 });
    const expected = priceOf(kit.app, model, usage);
    expect(end.credits?.charged).toBe(expected);
    const ledger = await kit.app.ledger.balance(user);
    expect(end.credits?.balance).toBe(ledger.balance);
    expect(ledger.balance).toBe(100_000 - expected);
    expect(ledger.held).toBe(0);
    // The receipt names the settlement in the Merkle log (docs/audit.md).
    const receipt = (end as { receipt?: { position: number; leafHash: string } }).receipt;
    expect(receipt?.leafHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await kit.app.ledgerLog.waitFor(receipt?.position ?? -1, 10_000)).toBe(true);
    expect(kit.app.ledgerLog.leafHashAt(receipt?.position ?? -1)).toBe(receipt?.leafHash);
  });

  it('uses the provider’s own usage when the fixture reports the counted tokens, and maxTokens reaches the provider', async () => {
    const user = 'happy-counted';
    await kit.grant(user, 50_000);
    kit.openai.enqueue({ chunks: ['One', ' two', ' three'] });
    const socket = await kit.open(user);
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Count to three.' },
    ];
    socket.send(ask('counted', { model: 'gpt-4o', messages, maxTokens: 20, temperature: 0.5 }));
    const { end } = await socket.result('counted');
    const usage = { inputTokens: countChatTokens('gpt-4o', messages as never), outputTokens: countTextTokens('gpt-4o', 'One two three') };
    expect(end.usage).toMatchObject(usage);
    expect(end.credits?.charged).toBe(priceOf(kit.app, 'gpt-4o', usage));
    const sent = kit.openai.requests[kit.openai.requests.length - 1]?.body;
    expect(sent).toMatchObject({ model: 'gpt-4o', max_tokens: 20, temperature: 0.5, stream: true });
  });

  it('stream: false sends the whole answer as one chunk (seq 1) before done', async () => {
    const user = 'happy-nostream';
    await kit.grant(user, 50_000);
    kit.openai.enqueue({ chunks: ['a', 'b', 'c'], usage: { inputTokens: 10, outputTokens: 3 } });
    const socket = await kit.open(user);
    socket.send(ask('whole', { stream: false }));
    const { chunks, end } = await socket.result('whole');
    expect(chunks).toEqual([{ id: 'whole', type: 'chunk', seq: 1, data: 'abc' }]);
    expect(end.credits?.charged).toBe(priceOf(kit.app, 'gpt-4o-mini', { inputTokens: 10, outputTokens: 3 }));
  });

  it('runs several requests at once on one socket, each with its own seqs', async () => {
    const user = 'happy-multiplex';
    await kit.grant(user, 100_000);
    kit.openai.setDefault({ chunks: ['x', 'y', 'z'], chunkDelayMs: 5 });
    const socket = await kit.open(user);
    // Explicit provider: with `auto`, the router would spread concurrent requests over both providers.
    for (const id of ['m1', 'm2', 'm3']) socket.send(ask(id, { provider: 'openai' }));
    const results = await Promise.all(['m1', 'm2', 'm3'].map((id) => socket.result(id)));
    kit.openai.setDefault({});
    for (const r of results) {
      expect(r.text).toBe('xyz');
      expect(r.chunks.map((c) => c.seq)).toEqual([1, 2, 3]);
    }
    const total = results.reduce((sum, r) => sum + (r.end.credits?.charged ?? 0), 0);
    expect((await kit.app.ledger.balance(user)).balance).toBe(100_000 - total);
  });

  it('logs one usage line per request, without the token', async () => {
    const user = 'happy-logs';
    await kit.grant(user, 10_000);
    const token = await kit.token(user);
    const client = await connectGateway({ url: `${kit.ws.url}/?token=${token}`, token });
    const answer = client.complete({ id: 'logged', model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], maxTokens: 16 });
    let text = '';
    for await (const chunk of answer) text += chunk.data;
    const done = await answer.done;
    await client.close();
    expect(text.length).toBeGreaterThan(0);
    const line = kit.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['event'] === 'llm_usage' && l['requestId'] === 'logged');
    expect(line).toMatchObject({ userId: user, provider: 'openai', model: 'gpt-4o-mini', outcome: 'completed', credits: done.credits.charged });
    expect(typeof line?.['latencyMs']).toBe('number');
    expect(typeof line?.['firstChunkMs']).toBe('number');
    expect(kit.logs.join('\n')).not.toContain(token);
  });

  it('reports connections, in-flight requests and providers in stats', async () => {
    const socket = await kit.open('happy-stats');
    const stats = kit.ws.stats();
    expect(stats.connections).toBeGreaterThanOrEqual(1);
    expect(stats.busiestUserConnections).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(stats)).not.toContain('happy-stats');
    expect(stats.providers.map((p) => p.name).sort()).toEqual(['claude', 'openai']);
    expect(stats.inFlight).toBe(0);
    socket.ws.close();
    expect(await kit.audit()).toEqual([]);
  });
});
