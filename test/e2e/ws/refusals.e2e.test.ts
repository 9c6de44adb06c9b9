import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kit, TestSocket } from './wsTestKit.js';
import { ask, startKit } from './wsTestKit.js';

/**
 * Everything the gateway refuses answers with an error frame carrying the
 * documented code, keeps the socket open (except an oversized frame: 1009),
 * and writes nothing to the ledger.
 */
describe('WebSocket gateway: refusals', () => {
  let kit: Kit;
  let socket: TestSocket;
  beforeAll(async () => {
    kit = await startKit({ env: { WS_MAX_INFLIGHT_PER_CONNECTION: '2', WS_MAX_PAYLOAD_BYTES: '4096' } });
    await kit.grant('refused', 1_000_000);
    socket = await kit.open('refused');
  });
  afterAll(() => kit.stop());

  const errorFor = async (frame: unknown, id: string | null) => {
    socket.frames.length = 0;
    socket.send(frame);
    const answer = await socket.next((f) => f.type === 'error' && f.id === id);
    return answer.error;
  };

  it.each([
    ['text that is not JSON', '{"id": "x", ', null, 'not valid JSON'],
    ['a JSON array', '[1,2]', null, 'JSON object'],
    ['a missing id', { type: 'chat' }, null, 'id:'],
    ['an id with spaces', { ...ask('a b') }, null, 'id:'],
    ['an id of 129 characters', { ...ask('x'.repeat(129)) }, null, 'id:'],
    ['an unknown type', { id: 'u1', type: 'embed' }, 'u1', 'type:'],
    ['stream of the wrong type', ask('u2', { stream: 'yes' }), 'u2', 'stream'],
    ['no messages', ask('u3', { messages: [] }), 'u3', 'messages'],
    ['a message with an unknown role', ask('u4', { messages: [{ role: 'tool', content: 'x' }] }), 'u4', 'messages.0.role'],
    ['content that is not a string', ask('u5', { messages: [{ role: 'user', content: 42 }] }), 'u5', 'messages.0.content'],
    ['temperature 3', ask('u6', { temperature: 3 }), 'u6', 'temperature'],
    ['maxTokens 0', ask('u7', { maxTokens: 0 }), 'u7', 'maxTokens'],
    ['fractional maxTokens', ask('u8', { maxTokens: 1.5 }), 'u8', 'maxTokens'],
    ['an unknown provider', ask('u9', { provider: 'gemini' }), 'u9', 'provider'],
    ['an unknown model', ask('u10', { model: 'gpt-9-ultra' }), 'u10', 'gpt-9-ultra'],
    ['a model of another provider', ask('u11', { provider: 'openai', model: 'claude-haiku-4-5' }), 'u11', 'claude'],
    ['maxTokens above the model’s limit', ask('u12', { maxTokens: 999_999 }), 'u12', 'maxTokens'],
    ['resume with a negative seq', { id: 'u13', type: 'resume', after: -1 }, 'u13', 'after'],
    ['cancel of an id that is not running', { id: 'u14', type: 'cancel' }, 'u14', 'no running request'],
  ])('%s: INVALID_REQUEST, socket stays open', async (_name, frame, id, mentions) => {
    const error = await errorFor(frame, id);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', retryable: false });
    expect(error?.message).toContain(mentions);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
  });

  it('refuses a binary frame with INVALID_REQUEST and keeps the socket', async () => {
    socket.frames.length = 0;
    socket.ws.send(Buffer.from(JSON.stringify(ask('bin'))), { binary: true });
    const answer = await socket.next((f) => f.type === 'error');
    expect(answer).toMatchObject({ id: null, error: { code: 'INVALID_REQUEST' } });
    expect(answer.error?.message).toContain('binary');
  });

  it('refuses a resume of an unknown id with RESUME_UNAVAILABLE', async () => {
    expect(await errorFor({ id: 'never-sent', type: 'resume', after: 0 }, 'never-sent')).toMatchObject({ code: 'RESUME_UNAVAILABLE', retryable: false });
  });

  it('refuses a duplicate in-flight id, and more than the per-connection cap of running requests', async () => {
    kit.openai.setDefault({ chunks: ['s', 'l', 'o', 'w'], chunkDelayMs: 40 });
    socket.frames.length = 0;
    socket.send(ask('dup', { provider: 'openai' }));
    await socket.next((f) => f.id === 'dup' && f.type === 'chunk');
    socket.send(ask('dup', { provider: 'openai' }));
    const dup = await socket.next((f) => f.id === 'dup' && f.type === 'error');
    expect(dup.error).toMatchObject({ code: 'INVALID_REQUEST', duplicate: true });
    expect(dup.error?.message).toContain('already running');
    socket.send(ask('second', { provider: 'openai' }));
    socket.send(ask('third', { provider: 'openai' }));
    const third = await socket.next((f) => f.id === 'third');
    expect(third.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', retryable: true, limit: 'inflight', maxInflight: 2 });
    // The refusal did not touch the running request: it finishes normally.
    await socket.next((f) => f.id === 'dup' && f.type === 'done');
    expect(socket.frames.filter((f) => f.id === 'dup' && f.type === 'chunk').map((f) => f.data).join('')).toBe('slow');
    expect((await socket.result('second')).end.type).toBe('done');
    kit.openai.setDefault({});
  });

  it('closes with 1009 on a frame over WS_MAX_PAYLOAD_BYTES', async () => {
    const big = await kit.open('refused-big');
    big.send(ask('big', { messages: [{ role: 'user', content: 'x'.repeat(5000) }] }));
    expect((await big.closed).code).toBe(1009);
  });

  it('suspended user: FORBIDDEN, and no ledger event', async () => {
    await kit.grant('suspended', 10_000);
    const changed = await kit.app.access.change('suspended', { userId: 'ops', trusted: true }, { type: 'Suspend', reason: 'abuse' });
    expect(changed._tag).toBe('Right');
    const before = await kit.eventCount();
    const s = await kit.open('suspended');
    s.send(ask('f1'));
    expect((await s.next((f) => f.id === 'f1')).error).toMatchObject({ code: 'FORBIDDEN', retryable: false, action: 'llm:use' });
    expect(await kit.eventCount()).toBe(before);
  });

  it('insufficient credits: INSUFFICIENT_CREDITS with the hold needed and what is available, no ledger event, provider not called', async () => {
    await kit.grant('poor', 3);
    const before = await kit.eventCount();
    const calls = kit.openai.requests.length;
    const s = await kit.open('poor');
    s.send(ask('p1', { provider: 'openai', model: 'gpt-4', maxTokens: 1000 }));
    const answer = await s.next((f) => f.id === 'p1');
    expect(answer.error).toMatchObject({ code: 'INSUFFICIENT_CREDITS', retryable: false, available: 3 });
    expect(answer.error?.['needed']).toBeGreaterThan(3);
    s.send(ask('p2', { provider: 'openai' }));
    expect((await s.next((f) => f.id === 'p2')).error).toMatchObject({ code: 'INSUFFICIENT_CREDITS' });
    const stranger = await kit.open('no-account');
    stranger.send(ask('p3'));
    expect((await stranger.next((f) => f.id === 'p3')).error).toMatchObject({ code: 'INSUFFICIENT_CREDITS', available: 0 });
    expect(await kit.eventCount()).toBe(before);
    expect(kit.openai.requests.length).toBe(calls);
  });

  it('left no hold open and the audit passes', async () => {
    expect((await kit.app.ledger.balance('refused')).held).toBe(0);
    expect(await kit.audit()).toEqual([]);
  });
});

describe('WebSocket gateway: rate limits', () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await startKit({ env: { RATE_LIMIT_REQUESTS_PER_MIN: '2' } });
  });
  afterAll(() => kit.stop());

  it('the third request in a minute gets RATE_LIMIT_EXCEEDED with retryAfterMs, and writes nothing', async () => {
    await kit.grant('limited', 100_000);
    const s = await kit.open('limited');
    s.send(ask('l1'));
    s.send(ask('l2'));
    await Promise.all([s.result('l1'), s.result('l2')]);
    const before = await kit.eventCount();
    s.send(ask('l3'));
    const answer = await s.next((f) => f.id === 'l3');
    expect(answer.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', retryable: true, limit: 'requests' });
    expect(answer.error?.['retryAfterMs']).toBeGreaterThan(0);
    expect(await kit.eventCount()).toBe(before);
  });
});
