import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { extractToken, redactUrl } from '../../../adapters/auth/jwtRequest.js';

describe('extractToken', () => {
  it('takes the token from Authorization: Bearer, whatever the case of scheme and header name', () => {
    expect(extractToken({ authorization: 'Bearer abc.def.ghi' }, '/ws')).toBe('abc.def.ghi');
    expect(extractToken({ authorization: 'bearer   abc' }, undefined)).toBe('abc');
    expect(extractToken({ Authorization: 'BEARER abc' }, undefined)).toBe('abc');
    expect(extractToken({ authorization: ['Bearer first', 'Bearer second'] }, undefined)).toBe('first');
  });

  it('falls back to the token query parameter (relative or absolute URL, or a URL object)', () => {
    expect(extractToken({}, '/ws?x=1&token=abc.def&y=2')).toBe('abc.def');
    expect(extractToken({}, 'ws://host:3003/ws?token=a%2Eb#frag')).toBe('a.b');
    expect(extractToken({}, new URL('http://h/p?token=xyz'))).toBe('xyz');
    expect(extractToken({ authorization: 'Basic dXNlcjpwYXNz' }, '/ws?token=q')).toBe('q');
  });

  it('prefers the header over the query', () => {
    expect(extractToken({ authorization: 'Bearer h' }, '/ws?token=q')).toBe('h');
  });

  it('answers undefined when there is no usable token', () => {
    expect(extractToken({}, '/ws')).toBeUndefined();
    expect(extractToken({}, '/ws?token=')).toBeUndefined();
    expect(extractToken({}, '/ws#token=abc')).toBeUndefined();
    expect(extractToken({ authorization: 'Bearer' }, undefined)).toBeUndefined();
    expect(extractToken({ authorization: 'Bearer a b' }, undefined)).toBeUndefined();
    expect(extractToken({ authorization: 'Token abc' }, undefined)).toBeUndefined();
    expect(extractToken({ authorization: 42, other: ['x'] }, undefined)).toBeUndefined();
    expect(extractToken({ authorization: [7] }, undefined)).toBeUndefined();
  });
});

describe('redactUrl', () => {
  it('replaces the token value and leaves the rest byte for byte', () => {
    expect(redactUrl('/ws?token=abc.def.ghi')).toBe('/ws?token=[REDACTED]');
    expect(redactUrl('/ws?a=1&token=abc&b=%20x')).toBe('/ws?a=1&token=[REDACTED]&b=%20x');
    expect(redactUrl('/plain/path')).toBe('/plain/path');
    expect(redactUrl('/p?tokens=keep&mytoken=keep')).toBe('/p?tokens=keep&mytoken=keep');
  });

  it('redacts every occurrence, encoded names, other secret names and the fragment', () => {
    expect(redactUrl('/ws?token=a&token=b')).toBe('/ws?token=[REDACTED]&token=[REDACTED]');
    expect(redactUrl('/ws?tok%65n=secret')).toBe('/ws?tok%65n=[REDACTED]');
    expect(redactUrl('/ws?TOKEN=secret')).toBe('/ws?TOKEN=[REDACTED]');
    expect(redactUrl('/cb?code=abc&state=s1')).toBe('/cb?code=[REDACTED]&state=s1');
    expect(redactUrl('https://h/p?x=1#access_token=abc&y=2')).toBe('https://h/p?x=1#access_token=[REDACTED]&y=2');
    expect(redactUrl('/ws?tok%zzen=1')).toBe('/ws?tok%zzen=1');
    expect(redactUrl('/oauth/token?grant_type=refresh_token&refresh_token=r1&client_secret=s2&code_verifier=v3'))
      .toBe('/oauth/token?grant_type=refresh_token&refresh_token=[REDACTED]&client_secret=[REDACTED]&code_verifier=[REDACTED]');
    expect(redactUrl('/v1/models?key=clg_x&api_key=clg_y')).toBe('/v1/models?key=[REDACTED]&api_key=[REDACTED]');
  });

  it('property: no value extractToken would read survives redaction', () => {
    const part = fc.stringMatching(/^[A-Za-z0-9._~%-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'token', 'tok%65n', 'x'), part), { maxLength: 6 }), (pairs) => {
        const url = `/ws?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
        const redacted = redactUrl(url);
        const token = extractToken({}, redacted);
        expect(token === undefined || token === '[REDACTED]').toBe(true);
        for (const [k, v] of pairs) if (k === 'a' || k === 'x') expect(redacted).toContain(`${k}=${v}`);
      }),
    );
  });
});
