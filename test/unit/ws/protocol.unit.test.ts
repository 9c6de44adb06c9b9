import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { GatewayError } from '../../../application/gateway/errors.js';
import { decodeClientFrame, doneFrame, FRAME_LIMITS, toWireError } from '../../../adapters/ws/protocol.js';

const valid = {
  id: 'req-1',
  type: 'chat',
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'hi' }],
  stream: true,
};

const problem = (frame: unknown) => {
  const decoded = decodeClientFrame(typeof frame === 'string' ? frame : JSON.stringify(frame));
  if (E.isRight(decoded)) throw new Error(`accepted ${JSON.stringify(frame)}`);
  return decoded.left;
};

describe('decodeClientFrame', () => {
  it('accepts completion, chat, cancel and resume frames, and ignores unknown extra fields', () => {
    const full = { ...valid, type: 'completion', provider: 'claude', maxTokens: 10, temperature: 2, extra: { anything: true } };
    expect(decodeClientFrame(JSON.stringify(full))).toEqual(E.right(full));
    expect(decodeClientFrame(JSON.stringify(valid))).toEqual(E.right(valid));
    expect(decodeClientFrame('{"id":"a","type":"cancel"}')).toEqual(E.right({ id: 'a', type: 'cancel' }));
    expect(decodeClientFrame('{"id":"a","type":"resume","after":0}')).toEqual(E.right({ id: 'a', type: 'resume', after: 0 }));
  });

  it('accepts the bounds themselves', () => {
    const id = 'x'.repeat(FRAME_LIMITS.idMaxLength);
    const messages = Array.from({ length: FRAME_LIMITS.messagesMax }, () => ({ role: 'assistant', content: '' }));
    expect(E.isRight(decodeClientFrame(JSON.stringify({ ...valid, id, messages, temperature: 0, maxTokens: FRAME_LIMITS.maxTokensMax })))).toBe(true);
  });

  it.each([
    ['id too long', { ...valid, id: 'x'.repeat(FRAME_LIMITS.idMaxLength + 1) }, 'id:'],
    ['id with a slash', { ...valid, id: 'a/b' }, 'id:'],
    ['id as a number', { ...valid, id: 7 }, 'id:'],
    ['too many messages', { ...valid, messages: Array.from({ length: FRAME_LIMITS.messagesMax + 1 }, () => ({ role: 'user', content: 'x' })) }, 'messages: expected array of 1..'],
    ['temperature NaN-ish string', { ...valid, temperature: '1' }, 'temperature'],
    ['temperature below 0', { ...valid, temperature: -1 }, 'temperature'],
    ['maxTokens above the cap', { ...valid, maxTokens: FRAME_LIMITS.maxTokensMax + 1 }, 'maxTokens'],
    ['empty model', { ...valid, model: '' }, 'model'],
    ['missing stream', { ...valid, stream: undefined }, 'stream'],
    ['resume without after', { id: 'a', type: 'resume' }, 'after'],
    ['resume with a fractional seq', { id: 'a', type: 'resume', after: 1.5 }, 'after'],
  ])('refuses %s, naming the field', (_name, frame, field) => {
    const p = problem(frame);
    expect(p.error.code).toBe('INVALID_REQUEST');
    expect(p.error.message).toContain(field);
  });

  it('names the path inside arrays: messages.1.role', () => {
    const p = problem({ ...valid, messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }] });
    expect(p.error.message).toBe('messages.1.role: expected "system" | "user" | "assistant"');
    expect(p.id).toBe('req-1');
  });

  it('echoes the id only when it is a valid id', () => {
    expect(problem({ id: 'ok', type: 'nope' }).id).toBe('ok');
    expect(problem({ id: 'not ok', type: 'chat' }).id).toBeNull();
    expect(problem('nonsense').id).toBeNull();
  });
});

describe('toWireError', () => {
  const cases: [GatewayError, Record<string, unknown>][] = [
    [{ _tag: 'Forbidden', action: 'llm:use' }, { code: 'FORBIDDEN', retryable: false, action: 'llm:use' }],
    [{ _tag: 'InsufficientCredits', needed: 61, available: 3 }, { code: 'INSUFFICIENT_CREDITS', retryable: false, needed: 61, available: 3 }],
    [{ _tag: 'RateLimited', retryAfterMs: 900, limit: 'tokens', retryable: true }, { code: 'RATE_LIMIT_EXCEEDED', retryable: true, retryAfterMs: 900, limit: 'tokens' }],
    [{ _tag: 'RateLimited', retryAfterMs: 0, limit: 'tokens', retryable: false }, { code: 'RATE_LIMIT_EXCEEDED', retryable: false }],
    [{ _tag: 'LimiterUnavailable', message: 'redis down' }, { code: 'SERVICE_UNAVAILABLE', retryable: true }],
    [{ _tag: 'InvalidRequest', message: 'bad' }, { code: 'INVALID_REQUEST', retryable: false, message: 'bad' }],
    [{ _tag: 'ProviderUnavailable', message: 'breaker open', retryable: true }, { code: 'PROVIDER_UNAVAILABLE', retryable: true }],
    [
      { _tag: 'ProviderError', message: 'broke', retryable: false, settled: { charged: 5, balance: 95, available: 95 } },
      { code: 'PROVIDER_ERROR', retryable: false, credits: { charged: 5, balance: 95, available: 95 } },
    ],
  ];
  it.each(cases)('maps %j', (error, wire) => {
    expect(toWireError(error)).toMatchObject(wire);
  });

  it('never lets a detail overwrite code, message or retryable', () => {
    const wire = toWireError({ _tag: 'Forbidden', action: 'llm:use' });
    expect(Object.keys(wire).sort()).toEqual(['action', 'code', 'message', 'retryable']);
  });
});

describe('doneFrame', () => {
  it('carries usage with a total, the charge and the balance after', () => {
    const frame = JSON.parse(
      doneFrame('r', { provider: 'openai', model: 'gpt-4o', ended: 'completed', usage: { inputTokens: 3, outputTokens: 4 }, credits: { charged: 9, balance: 91, available: 80 } }),
    ) as unknown;
    expect(frame).toEqual({
      id: 'r',
      type: 'done',
      provider: 'openai',
      model: 'gpt-4o',
      ended: 'completed',
      usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
      credits: { charged: 9, balance: 91, available: 80 },
    });
  });
});
