import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { decodePriceSheet, modelsOf } from '../../../domain/pricing/priceSheet.js';

const valid = () => ({
  version: 'test-1',
  estimateMargin: { openai: { percent: 5, tokens: 16 }, claude: { percent: 35, tokens: 64 } },
  models: {
    'gpt-4o': { provider: 'openai', inputPer1k: 250, outputPer1k: 1000, defaultMaxTokens: 1024, maxOutputTokens: 16384 },
    'claude-sonnet-4-0': { provider: 'claude', inputPer1k: 300, outputPer1k: 1500, defaultMaxTokens: 1024, maxOutputTokens: 64000 },
  },
  video: { 'sora-2': { perSecondByResolution: { '1280x720': 10000 } } },
});

const problemsOf = (raw: unknown): readonly string[] => {
  const decoded = decodePriceSheet(raw);
  return E.isLeft(decoded) ? decoded.left.problems : [];
};

describe('price sheet codec', () => {
  it('accepts a well-formed sheet and lists models per provider', () => {
    const decoded = decodePriceSheet(valid());
    expect(E.isRight(decoded)).toBe(true);
    if (E.isRight(decoded)) {
      expect(modelsOf(decoded.right, 'openai')).toEqual(['gpt-4o']);
      expect(modelsOf(decoded.right, 'claude')).toEqual(['claude-sonnet-4-0']);
    }
  });

  it.each([
    ['a fractional price', (s: ReturnType<typeof valid>) => Object.assign(s.models['gpt-4o'], { inputPer1k: 2.5 })],
    ['a negative price', (s: ReturnType<typeof valid>) => Object.assign(s.models['gpt-4o'], { outputPer1k: -1 })],
    ['a price as a string', (s: ReturnType<typeof valid>) => Object.assign(s.models['gpt-4o'], { outputPer1k: '10' })],
    ['an unknown provider', (s: ReturnType<typeof valid>) => Object.assign(s.models['gpt-4o'], { provider: 'mistral' })],
    ['a zero max_tokens limit', (s: ReturnType<typeof valid>) => Object.assign(s.models['gpt-4o'], { maxOutputTokens: 0 })],
    ['a default above the limit', (s: ReturnType<typeof valid>) => Object.assign(s.models['gpt-4o'], { defaultMaxTokens: 20000 })],
    ['an empty version', (s: ReturnType<typeof valid>) => Object.assign(s, { version: '' })],
    ['no models', (s: ReturnType<typeof valid>) => Object.assign(s, { models: {} })],
    ['a video model without resolutions', (s: ReturnType<typeof valid>) => Object.assign(s.video['sora-2'], { perSecondByResolution: {} })],
    ['a missing margin', (s: ReturnType<typeof valid>) => Object.assign(s, { estimateMargin: { openai: { percent: 5, tokens: 0 } } })],
  ])('refuses %s', (_name, spoil) => {
    const sheet = valid();
    spoil(sheet);
    expect(problemsOf(sheet).length).toBeGreaterThan(0);
  });

  it('names the offending model in cross-field problems', () => {
    const sheet = valid();
    sheet.models['gpt-4o'].defaultMaxTokens = 20000;
    expect(problemsOf(sheet)).toEqual(['models.gpt-4o: defaultMaxTokens 20000 exceeds maxOutputTokens 16384']);
  });
});
