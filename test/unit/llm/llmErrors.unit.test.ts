import { describe, expect, it } from '@jest/globals';
import { allowsFallback, classifyThrown, countsAgainstProvider, parseRetryAfterMs } from '../../../adapters/llm/llmErrors.js';

const NOW = Date.parse('2025-10-01T12:00:00Z');

/** Shaped like the SDKs' APIError: status, headers (a Headers), parsed error body, message. */
const apiError = (status: number | undefined, body: unknown, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`${status ?? ''} provider says no`), { status, headers: new Headers(headers), error: body });

describe('retry-after', () => {
  it.each([
    [{ 'retry-after': '2' }, 2000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after': '0' }, 0],
    [{ 'retry-after': 'Wed, 01 Oct 2025 12:00:03 GMT' }, 3000],
    [{ 'retry-after': 'Wed, 01 Oct 2025 11:59:00 GMT' }, 0],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after': 'soon' }, undefined],
    [{}, undefined],
  ])('%j -> %s ms', (headers, expected) => {
    expect(parseRetryAfterMs(new Headers(headers), NOW)).toBe(expected);
  });

  it('reads plain header records too', () => {
    expect(parseRetryAfterMs({ 'retry-after': '1' }, NOW)).toBe(1000);
    expect(parseRetryAfterMs(undefined, NOW)).toBeUndefined();
  });
});

describe('classification of what the SDKs throw', () => {
  it.each([
    [429, { error: { type: 'requests', code: 'rate_limit_exceeded' } }, 'ProviderRateLimited', true],
    [429, { error: { type: 'insufficient_quota', code: 'insufficient_quota' } }, 'ProviderRateLimited', false],
    [404, { error: { code: 'model_not_found' } }, 'UnknownModel', false],
    [404, { type: 'error', error: { type: 'not_found_error' } }, 'UnknownModel', false],
    [401, {}, 'ProviderUnavailable', false],
    [500, {}, 'ProviderUnavailable', true],
    [503, {}, 'ProviderUnavailable', true],
    [529, { type: 'error', error: { type: 'overloaded_error' } }, 'ProviderUnavailable', true],
    [408, {}, 'ProviderUnavailable', true],
    [400, {}, 'ProviderError', false],
    [422, {}, 'ProviderError', false],
  ])('status %d %j -> %s (retryable %s)', (status, body, tag, retryable) => {
    expect(classifyThrown('openai', apiError(status, body), NOW)).toMatchObject({ _tag: tag, retryable, status });
  });

  it('keeps the retry-after hint of a 429', () => {
    expect(classifyThrown('claude', apiError(429, {}, { 'retry-after': '3' }), NOW).retryAfterMs).toBe(3000);
  });

  it('classifies in-stream error events (no status) by their type', () => {
    expect(classifyThrown('claude', apiError(undefined, { type: 'error', error: { type: 'overloaded_error' } }), NOW)._tag).toBe(
      'ProviderUnavailable',
    );
    expect(classifyThrown('claude', apiError(undefined, { type: 'error', error: { type: 'rate_limit_error' } }), NOW)._tag).toBe(
      'ProviderRateLimited',
    );
    expect(classifyThrown('claude', apiError(undefined, { error: { type: 'invalid_request_error' } }), NOW)._tag).toBe('ProviderError');
  });

  it('uses the adapter to recognise its SDK connection errors', () => {
    const e = apiError(undefined, undefined);
    expect(classifyThrown('openai', e, NOW, (x) => x === e)).toMatchObject({ _tag: 'ProviderUnavailable', retryable: true });
  });

  it('treats dropped sockets as unavailability and broken JSON as a retryable provider error', () => {
    expect(classifyThrown('openai', new TypeError('terminated'), NOW)).toMatchObject({ _tag: 'ProviderUnavailable', retryable: true });
    expect(classifyThrown('openai', new SyntaxError('Unexpected end of JSON input'), NOW)).toMatchObject({
      _tag: 'ProviderError',
      retryable: true,
    });
    expect(classifyThrown('openai', new Error('something odd'), NOW)).toMatchObject({ _tag: 'ProviderError', retryable: false });
    expect(classifyThrown('openai', 'a string', NOW)).toMatchObject({ _tag: 'ProviderError', message: 'a string' });
  });

  it('says which failures trip the breaker and which allow a fallback', () => {
    const e = (tag: 'ProviderRateLimited' | 'ProviderUnavailable' | 'ProviderError' | 'UnknownModel' | 'Aborted', retryable = false) => ({
      _tag: tag,
      provider: 'openai' as const,
      message: '',
      retryable,
    });
    expect([e('ProviderRateLimited'), e('ProviderUnavailable'), e('ProviderError', true)].every(countsAgainstProvider)).toBe(true);
    expect([e('ProviderError'), e('UnknownModel'), e('Aborted')].some(countsAgainstProvider)).toBe(false);
    expect([e('ProviderRateLimited'), e('ProviderUnavailable')].every(allowsFallback)).toBe(true);
    expect([e('ProviderError', true), e('UnknownModel'), e('Aborted')].some(allowsFallback)).toBe(false);
  });
});
