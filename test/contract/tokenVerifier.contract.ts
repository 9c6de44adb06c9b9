import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { JWTPayload } from 'jose';
import type { AuthError, Principal, TokenVerifier } from '../../application/ports/tokenVerifier.js';
import { unsecuredToken } from '../support/jwks.js';

/**
 * What every TokenVerifier mode (HS256 secret, JWKS with RS256 / ES256) must
 * accept and refuse. The factory builds a verifier that checks `issuer` and
 * `audience`, allows 5 s of clock skew, and reads the injected clock `nowMs`.
 */
export const issuer = 'https://issuer.test';
export const audience = 'credit-ledger';
export const nowMs = 1_750_000_000_000;
const nowS = nowMs / 1000;

export type TokenVerifierHarness = {
  readonly verifier: TokenVerifier;
  /** Signs with the key the verifier trusts. */
  readonly sign: (claims: JWTPayload) => Promise<string>;
  /** Signs with a key of the same kind that the verifier does not trust. */
  readonly signWithOtherKey: (claims: JWTPayload) => Promise<string>;
  readonly close: () => Promise<void>;
};

export type TokenVerifierFactory = (config: {
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceS: number;
  readonly now: () => number;
}) => Promise<TokenVerifierHarness>;

/** Claims of a good token; tests change one thing at a time. */
export const goodClaims = (overrides: JWTPayload = {}): JWTPayload => ({
  sub: 'user-42',
  iss: issuer,
  aud: audience,
  iat: nowS - 10,
  exp: nowS + 600,
  ...overrides,
});

/** Good claims without one of them. */
export const claimsWithout = (claim: 'iss' | 'sub' | 'exp'): JWTPayload => {
  const claims = goodClaims();
  delete claims[claim];
  return claims;
};

const refusal = (result: E.Either<AuthError, Principal>): AuthError => {
  if (E.isRight(result)) throw new Error(`expected a refusal, got principal ${result.right.userId}`);
  return result.left;
};

export const tokenVerifierContract = (name: string, factory: TokenVerifierFactory) => {
  describe(`TokenVerifier contract: ${name}`, () => {
    let h: TokenVerifierHarness;
    const verify = async (claims: JWTPayload) => h.verifier.verify(await h.sign(claims));
    beforeAll(async () => {
      h = await factory({ issuer, audience, clockToleranceS: 5, now: () => nowMs });
    });
    afterAll(async () => {
      await h.close();
    });

    it('accepts a valid token: sub is the user id, roles and claims come along', async () => {
      const result = await verify(goodClaims({ roles: ['admin', 'user'], email: 'a@example.test' }));
      expect(result).toEqual(E.right(expect.objectContaining({ userId: 'user-42', roles: ['admin', 'user'] })));
      if (E.isRight(result)) expect(result.right.claims['email']).toBe('a@example.test');
      const plain = await verify(goodClaims({ roles: 'admin' }));
      expect(E.isRight(plain) && plain.right.roles).toBeUndefined();
    });

    it('refuses a missing or empty token as TokenMissing', async () => {
      expect(refusal(await h.verifier.verify(undefined))).toEqual({ _tag: 'TokenMissing' });
      expect(refusal(await h.verifier.verify(''))).toEqual({ _tag: 'TokenMissing' });
    });

    it('refuses malformed and oversized tokens', async () => {
      for (const garbage of ['abc', 'a.b.c', 'a.b', '....', 'eyJhbGciOiJIUzI1NiJ9.e30']) {
        expect(refusal(await h.verifier.verify(garbage))._tag).toBe('TokenInvalid');
      }
      const big = await h.sign(goodClaims({ padding: 'x'.repeat(10_000) }));
      expect(refusal(await h.verifier.verify(big))).toEqual({ _tag: 'TokenInvalid', reason: 'token too long' });
    });

    it('refuses a token signed with another key', async () => {
      const forged = await h.signWithOtherKey(goodClaims());
      expect(refusal(await h.verifier.verify(forged))._tag).toBe('TokenInvalid');
    });

    it('refuses a token whose payload was changed after signing', async () => {
      const [header, , signature] = (await h.sign(goodClaims())).split('.');
      const payload = Buffer.from(JSON.stringify(goodClaims({ sub: 'admin' }))).toString('base64url');
      const tampered = await h.verifier.verify(`${header}.${payload}.${signature}`);
      expect(refusal(tampered)).toEqual({ _tag: 'TokenInvalid', reason: 'signature verification failed' });
    });

    it('refuses alg none', async () => {
      expect(refusal(await h.verifier.verify(unsecuredToken(goodClaims())))).toMatchObject({ _tag: 'TokenInvalid' });
    });

    it('refuses an expired token as TokenExpired, within tolerance it still passes', async () => {
      expect(refusal(await verify(goodClaims({ exp: nowS - 6 })))).toEqual({
        _tag: 'TokenExpired',
        expiredAt: (nowS - 6) * 1000,
      });
      expect(E.isRight(await verify(goodClaims({ exp: nowS - 4 })))).toBe(true);
    });

    it('refuses an exp beyond the maximum lifetime (30 days by default), 1e300 included', async () => {
      for (const exp of [1e300, nowS + 31 * 86_400]) expect(refusal(await verify(goodClaims({ exp })))).toMatchObject({ _tag: 'TokenInvalid', reason: expect.stringContaining('JWT_MAX_LIFETIME') });
      expect(E.isRight(await verify(goodClaims({ exp: nowS + 29 * 86_400 })))).toBe(true);
    });

    it('refuses a sub that cannot name an account (the user id rule of paths and bodies)', async () => {
      for (const sub of ['has space', 'a/b', 'x'.repeat(201), 'ünï']) expect(refusal(await verify(goodClaims({ sub })))).toMatchObject({ _tag: 'TokenInvalid', reason: expect.stringContaining('"sub"') });
      expect(E.isRight(await verify(goodClaims({ sub: 'google-oauth2|1234.5@x+y:z' })))).toBe(true);
    });

    it('refuses a token that is not valid yet (nbf), within tolerance it passes', async () => {
      expect(refusal(await verify(goodClaims({ nbf: nowS + 6 })))).toEqual({
        _tag: 'TokenInvalid',
        reason: 'token not yet valid (nbf)',
      });
      expect(E.isRight(await verify(goodClaims({ nbf: nowS + 4 })))).toBe(true);
    });

    it('refuses a wrong or missing issuer', async () => {
      expect(refusal(await verify(goodClaims({ iss: 'https://evil.test' })))).toEqual({
        _tag: 'TokenInvalid',
        reason: 'unexpected issuer',
      });
      expect(refusal(await verify(claimsWithout('iss')))).toEqual({
        _tag: 'TokenInvalid',
        reason: 'missing claim "iss"',
      });
    });

    it('refuses a wrong audience and accepts ours among several', async () => {
      expect(refusal(await verify(goodClaims({ aud: 'someone-else' })))).toEqual({
        _tag: 'TokenInvalid',
        reason: 'unexpected audience',
      });
      expect(E.isRight(await verify(goodClaims({ aud: ['someone-else', audience] })))).toBe(true);
    });

    it('refuses a missing, empty or non-string sub', async () => {
      expect(refusal(await verify(claimsWithout('sub')))).toEqual({
        _tag: 'TokenInvalid',
        reason: 'missing claim "sub"',
      });
      expect(refusal(await verify(goodClaims({ sub: '' })))._tag).toBe('TokenInvalid');
      expect(refusal(await verify(goodClaims({ sub: '   ' })))._tag).toBe('TokenInvalid');
      expect(refusal(await verify({ ...goodClaims(), sub: 42 } as unknown as JWTPayload))._tag).toBe('TokenInvalid');
    });

    it('refuses a token without exp', async () => {
      expect(refusal(await verify(claimsWithout('exp')))).toEqual({
        _tag: 'TokenInvalid',
        reason: 'missing claim "exp"',
      });
    });

    it('a token it accepted, presented again and again, is refused once its exp (and the tolerance) has passed', async () => {
      let clock = nowMs;
      const moving = await factory({ issuer, audience, clockToleranceS: 5, now: () => clock });
      try {
        const token = await moving.sign(goodClaims({ exp: nowS + 60 }));
        for (let i = 0; i < 3; i++) expect(E.isRight(await moving.verifier.verify(token))).toBe(true);
        clock = nowMs + 64_000;
        expect(E.isRight(await moving.verifier.verify(token))).toBe(true);
        clock = nowMs + 65_001;
        expect(refusal(await moving.verifier.verify(token))).toEqual({ _tag: 'TokenExpired', expiredAt: (nowS + 60) * 1000 });
        clock = nowMs;
        // Refusals are never remembered: the same verifier still judges from the token and the clock.
        expect(E.isRight(await moving.verifier.verify(token))).toBe(true);
      } finally {
        await moving.close();
      }
    });

    it('answers every presentation of a token with its own principal: one caller cannot change what the next one sees', async () => {
      const token = await h.sign(goodClaims({ roles: ['user'] }));
      const first = await h.verifier.verify(token);
      if (E.isLeft(first)) throw new Error('expected a principal');
      expect(() => {
        (first.right.claims as Record<string, unknown>)['sub'] = 'someone-else';
      }).toThrow(TypeError);
      const second = await h.verifier.verify(token);
      expect(E.isRight(second) && second.right.claims['sub']).toBe('user-42');
    });
  });
};
