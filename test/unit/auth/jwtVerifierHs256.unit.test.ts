import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { mintDevToken } from '../../../adapters/auth/jwtMint.js';
import { makeJwtVerifier } from '../../../adapters/auth/jwtVerifier.js';
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
