import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { mintDevToken } from '../../../adapters/auth/jwtMint.js';
import { makeJwtVerifier, makeVerifiedTokenCache } from '../../../adapters/auth/jwtVerifier.js';
import { goodClaims, nowMs, tokenVerifierContract } from '../../contract/tokenVerifier.contract.js';
import { makeTestKey, signHs256, signWith } from '../../support/jwks.js';

const secret = 'unit-test-secret-0123456789abcdef-0123456789';

tokenVerifierContract('hs256', async (config) => ({
  verifier: makeJwtVerifier({ mode: 'hs256', secret, ...config }),
  sign: (claims) => signHs256(secret, claims),
  signWithOtherKey: (claims) => signHs256(`${secret}-other`, claims),
  close: async () => undefined,
}));

describe('HS256 verifier specifics', () => {
  const verifier = makeJwtVerifier({ mode: 'hs256', secret, now: () => nowMs });

  it('refuses RS256 and ES256 tokens (allow-list is HS256 only)', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const token = await signWith(await makeTestKey(alg), goodClaims());
      expect(await verifier.verify(token)).toEqual(E.left({ _tag: 'TokenInvalid', reason: 'algorithm not allowed' }));
    }
  });

  it('refuses HS384/HS512 even with the right secret', async () => {
    for (const alg of ['HS384', 'HS512']) {
      const token = await signHs256(secret, goodClaims(), { alg });
      expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString())).toMatchObject({ alg });
      expect(await verifier.verify(token)).toEqual(E.left({ _tag: 'TokenInvalid', reason: 'algorithm not allowed' }));
    }
  });

  it('without issuer/audience configured, any iss/aud passes', async () => {
    const token = await signHs256(secret, goodClaims({ iss: 'whoever', aud: 'whatever' }));
    expect(E.isRight(await verifier.verify(token))).toBe(true);
  });

  it('refuses a secret shorter than 32 bytes at construction', () => {
    expect(() => makeJwtVerifier({ mode: 'hs256', secret: 'short' })).toThrow(RangeError);
  });

  it('accepts a token without exp only when requireExp is false', async () => {
    const claims = { sub: 'user-1' };
    const token = await signHs256(secret, claims);
    expect(E.isLeft(await verifier.verify(token))).toBe(true);
    const lenient = makeJwtVerifier({ mode: 'hs256', secret, requireExp: false });
    expect(await lenient.verify(token)).toEqual(E.right({ userId: 'user-1', claims }));
  });

  it('the default clock is real time', async () => {
    const real = makeJwtVerifier({ mode: 'hs256', secret });
    const expired = await signHs256(secret, { sub: 'u', exp: Math.floor(Date.now() / 1000) - 60 });
    expect(await real.verify(expired)).toMatchObject({ left: { _tag: 'TokenExpired' } });
    const fresh = await signHs256(secret, { sub: 'u', exp: Math.floor(Date.now() / 1000) + 60 });
    expect(E.isRight(await real.verify(fresh))).toBe(true);
  });
});

describe('mintDevToken', () => {
  it('mints a token the HS256 verifier accepts, with roles, issuer and audience', async () => {
    const token = await mintDevToken(secret, 'dev-user', {
      roles: ['admin'],
      issuer: 'https://dev.test',
      audience: 'ledger',
      expiresInS: 120,
      now: () => nowMs,
      claims: { email: 'dev@example.test' },
    });
    const strict = makeJwtVerifier({ mode: 'hs256', secret, issuer: 'https://dev.test', audience: 'ledger', now: () => nowMs });
    const result = await strict.verify(token);
    expect(result).toEqual(E.right(expect.objectContaining({ userId: 'dev-user', roles: ['admin'] })));
    if (E.isRight(result)) {
      expect(result.right.claims).toMatchObject({ exp: nowMs / 1000 + 120, iat: nowMs / 1000, email: 'dev@example.test' });
    }
    const later = makeJwtVerifier({ mode: 'hs256', secret, now: () => nowMs + 126_000 });
    expect(await later.verify(token)).toMatchObject({ left: { _tag: 'TokenExpired' } });
  });

  it('refuses a short secret, an empty sub and a bad lifetime', async () => {
    await expect(mintDevToken('short', 'u')).rejects.toThrow(RangeError);
    await expect(mintDevToken(secret, ' ')).rejects.toThrow(RangeError);
    await expect(mintDevToken(secret, 'u', { expiresInS: 0 })).rejects.toThrow(RangeError);
  });
});

describe('the cache of verified tokens', () => {
  const principal = { userId: 'u', claims: { sub: 'u' } };

  it('answers until exp (less the tolerance) or the time to live, whichever comes first', () => {
    const cache = makeVerifiedTokenCache({ toleranceMs: 5_000, ttlMs: 60_000 });
    cache.set('a', principal, undefined, 30_000, 0);
    cache.set('b', principal, undefined, 600_000, 0);
    expect(cache.get('a', 34_999)?.principal).toEqual(principal);
    expect(cache.get('a', 35_000)).toBeUndefined();
    expect(cache.get('b', 59_999)?.principal).toEqual(principal);
    expect(cache.get('b', 60_000)).toBeUndefined();
    // An entry past its time is dropped, not kept for later.
    expect(cache.size()).toBe(0);
  });

  it('keeps at most maxEntries (dropping the oldest) and never a token longer than maxTokenLength', () => {
    const cache = makeVerifiedTokenCache({ maxEntries: 2, maxTokenLength: 10 });
    cache.set('one', principal, undefined, 1e12, 0);
    cache.set('two', principal, undefined, 1e12, 0);
    cache.set('three', principal, undefined, 1e12, 0);
    expect(cache.get('one', 1)).toBeUndefined();
    expect(cache.get('three', 1)).toBeDefined();
    expect(cache.set('x'.repeat(11), principal, undefined, 1e12, 0)).toEqual(principal);
    expect(cache.get('x'.repeat(11), 1)).toBeUndefined();
    expect(cache.size()).toBe(2);
  });

  it('hands out a frozen copy: no request can change the principal the next one gets', () => {
    const cache = makeVerifiedTokenCache();
    const kept = cache.set('t', { userId: 'u', roles: ['user'], claims: { sub: 'u' } }, undefined, 1e12, 0);
    expect(Object.isFrozen(kept) && Object.isFrozen(kept.claims)).toBe(true);
    expect(cache.get('t', 1)?.principal).toBe(kept);
  });

  it('a verifier pays for the signature once per token: repeats cost a small part of the first check', async () => {
    const verifier = makeJwtVerifier({ mode: 'hs256', secret, now: () => nowMs });
    const batch = (prefix: string) => Promise.all(Array.from({ length: 200 }, (_, i) => signHs256(secret, goodClaims({ sub: `${prefix}-${i}` }))));
    const timed = async (tokens: readonly string[]) => {
      const start = process.hrtime.bigint();
      for (const token of tokens) expect(E.isRight(await verifier.verify(token))).toBe(true);
      return Number(process.hrtime.bigint() - start);
    };
    for (let i = 0; i < 3; i++) await timed(await batch(`warm-up-${i}`));
    const tokens = await batch('user');
    const first = await timed(tokens);
    const repeats = Math.min(await timed(tokens), await timed(tokens), await timed(tokens));
    expect(repeats).toBeLessThan(first / 4);
  });
});
