import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import { chatTokensUpperBound, countChatTokens, countTextTokens, EXACT_BYTES_MAX } from '../../../adapters/llm/tokenizer.js';
import { firstDuplicateKey } from '../../../adapters/http/strictJson.js';
import { rawProblemResponse } from '../../../adapters/http/clientError.js';
import { fullBucket, take } from '../../../adapters/ws/budget.js';
import { userIdProblem } from '../../../adapters/auth/userId.js';

/** The bounded pieces behind issue 11, on their own. */

const cpuMs = (f: () => void) => {
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
};

describe('bounded token estimate', () => {
  it('is exact for ordinary prompts within the exact budget', () => {
    const text = 'The quick brown fox jumps over the lazy dog. Ledger, credit; balance!\n\n'.repeat(40);
    expect(Buffer.byteLength(text)).toBeLessThan(EXACT_BYTES_MAX);
    expect(countChatTokens('gpt-4o', [{ role: 'user', content: text }])).toBe(3 + 3 + o200k.countTokens('user') + o200k.countTokens(text));
  });

  it('never falls below the exact count and never exceeds the byte bound (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 3_000 }), (text) => {
        const counted = countChatTokens('gpt-4o', [{ role: 'user', content: text }]);
        const exact = 3 + 3 + o200k.countTokens('user') + (text.length === 0 ? 0 : o200k.countTokens(text));
        expect(counted).toBeGreaterThanOrEqual(exact);
        expect(counted).toBeLessThanOrEqual(chatTokensUpperBound([{ role: 'user', content: text }]) + 3);
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it.each([
    ['1,000,000 "a"', 'a'.repeat(1_000_000)],
    ['300,000 CJK', '\u4e00\u4e8c\u4e09\u56db\u4e94'.repeat(60_000)],
    ['200,000 astral code points', '\u{1F600}\u{20000}\u{E0041}\u{10FFFD}'.repeat(50_000)],
    ['one long run of punctuation', '!'.repeat(500_000)],
  ])('%s costs milliseconds, not seconds (it took 13 s for 200,000 "a")', (_name, text) => {
    countChatTokens('gpt-4o', [{ role: 'user', content: 'warm' }]);
    const used = cpuMs(() => countChatTokens('gpt-4o', [{ role: 'user', content: text }]));
    const usedCl = cpuMs(() => countTextTokens('gpt-4', text));
    // About 20 ms on an idle core; the bound leaves room for a loaded shared machine.
    expect(used).toBeLessThan(1_000);
    expect(usedCl).toBeLessThan(1_000);
  });
});

describe('duplicate JSON keys', () => {
  it.each([
    ['{"credits":1,"credits":2}', 'credits'],
    ['{"a":{"b":1,"b":2}}', 'b'],
    ['[{"x":1},{"x":2,"y":{"x":1},"x":3}]', 'x'],
    ['{"\\u0061":1,"a":2}', 'a'],
  ])('%s repeats %s', (text, key) => expect(firstDuplicateKey(text)).toBe(key));

  it.each(['{"a":1,"b":{"a":2}}', '[{"a":1},{"a":2}]', '{"a":"\\"a\\":1,","b":"{\\"a\\""}', '"a"', '[]'])('%s has none', (text) => expect(firstDuplicateKey(text)).toBeUndefined());

  it('agrees with a reference check on random JSON (property), in one pass', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => expect(firstDuplicateKey(JSON.stringify(value))).toBeUndefined()),
      { seed: 11, numRuns: 200 },
    );
    const wide = `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":${i}`).join(',')},"k7":0}`;
    expect(cpuMs(() => expect(firstDuplicateKey(wide)).toBe('k7'))).toBeLessThan(1_000);
  });
});

describe('the rest', () => {
  it('answers malformed HTTP with a complete problem+json response', () => {
    const raw = rawProblemResponse('HPE_HEADER_OVERFLOW');
    const [head, body] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head).toContain('Content-Type: application/problem+json');
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body ?? '')}`);
    expect(JSON.parse(body ?? '')).toMatchObject({ type: '/problems/request-header-fields-too-large', status: 431 });
    expect(rawProblemResponse('HPE_INVALID_HEADER_TOKEN')).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('a token bucket refuses past its burst and says when to come back', () => {
    const limits = { capacity: 3, perSecond: 2 };
    const bucket = fullBucket(limits, 0);
    expect([1, 2, 3].map(() => take(bucket, limits, 1, 0).ok)).toEqual([true, true, true]);
    expect(take(bucket, limits, 1, 0)).toEqual({ ok: false, retryAfterMs: 500 });
    expect(take(bucket, limits, 1, 500).ok).toBe(true);
  });

  it('one user id rule', () => {
    expect(userIdProblem('auth0|abc.def@x+y:z_1-2')).toBeUndefined();
    expect(userIdProblem('')).toBeDefined();
    expect(userIdProblem('a b')).toBeDefined();
    expect(userIdProblem('x'.repeat(201))).toBeDefined();
  });
});
