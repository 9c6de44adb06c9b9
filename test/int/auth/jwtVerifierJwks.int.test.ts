import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeJwtVerifier } from '../../../adapters/auth/jwtVerifier.js';
import { freePort } from '../../support/redisServer.js';
import { audience, goodClaims, issuer, nowMs, tokenVerifierContract } from '../../contract/tokenVerifier.contract.js';
import type { JwksServer, TestKey } from '../../support/jwks.js';
import { makeTestKey, signHs256, signWith, startJwksServer } from '../../support/jwks.js';

for (const alg of ['RS256', 'ES256'] as const) {
  tokenVerifierContract(`jwks ${alg}`, async (config) => {
    const key = await makeTestKey(alg);
    const stranger = await makeTestKey(alg, key.kid); // Same kid, different key: a forgery.
    const server = await startJwksServer([key]);
    return {
      verifier: makeJwtVerifier({ mode: 'jwks', jwksUrl: server.url, ...config }),
      sign: (claims) => signWith(key, claims),
      signWithOtherKey: (claims) => signWith(stranger, claims),
      close: server.close,
    };
  });
}

describe('JWKS verifier specifics', () => {
  let rsa: TestKey;
  let ec: TestKey;
  let server: JwksServer;
  const config = () => ({ mode: 'jwks' as const, jwksUrl: server.url, issuer, audience, now: () => nowMs });
  beforeAll(async () => {
    rsa = await makeTestKey('RS256');
    ec = await makeTestKey('ES256');
    server = await startJwksServer([rsa, ec]);
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses HS/RS confusion: an HS256 token keyed with the RSA public key PEM', async () => {
    const verifier = makeJwtVerifier(config());
    for (const secret of [rsa.publicPem, JSON.stringify(rsa.publicJwk)]) {
      const forged = await signHs256(secret, goodClaims(), { kid: rsa.kid });
      expect(await verifier.verify(forged)).toEqual(E.left({ _tag: 'TokenInvalid', reason: 'algorithm not allowed' }));
    }
    // The same claims properly signed pass, so the refusal is about the algorithm.
    expect(E.isRight(await verifier.verify(await signWith(rsa, goodClaims())))).toBe(true);
  });

  it('an algorithm subset is honoured: ES256-only refuses RS256', async () => {
    const verifier = makeJwtVerifier({ ...config(), algorithms: ['ES256'] });
    expect(await verifier.verify(await signWith(rsa, goodClaims()))).toEqual(
      E.left({ _tag: 'TokenInvalid', reason: 'algorithm not allowed' }),
    );
    expect(E.isRight(await verifier.verify(await signWith(ec, goodClaims())))).toBe(true);
  });

  it('rotation: a token with an unknown kid makes it refetch the key set once, then verifies', async () => {
    const rotating = await startJwksServer([rsa]);
    try {
      const verifier = makeJwtVerifier({ ...config(), jwksUrl: rotating.url, jwksCooldownMs: 0 });
      expect(E.isRight(await verifier.verify(await signWith(rsa, goodClaims())))).toBe(true);
      expect(rotating.fetches()).toBe(1);
      const next = await makeTestKey('RS256');
      rotating.publish([rsa, next]);
      expect(E.isRight(await verifier.verify(await signWith(next, goodClaims())))).toBe(true);
      expect(rotating.fetches()).toBe(2);
      // The old key is retired: its tokens now fail once the set is refetched.
      rotating.publish([next]);
      const stale = await makeTestKey('RS256');
      expect(await verifier.verify(await signWith(stale, goodClaims()))).toEqual(
        E.left({ _tag: 'TokenInvalid', reason: 'no signing key matches the token' }),
      );
      expect(rotating.fetches()).toBe(3);
      expect(await verifier.verify(await signWith(rsa, goodClaims()))).toMatchObject({ left: { _tag: 'TokenInvalid' } });
    } finally {
      await rotating.close();
    }
  });

  it('within the cooldown, unknown kids do not make it hammer the JWKS endpoint', async () => {
    const guarded = await startJwksServer([rsa]);
    try {
      const verifier = makeJwtVerifier({ ...config(), jwksUrl: guarded.url, jwksCooldownMs: 60_000 });
      await verifier.verify(await signWith(rsa, goodClaims()));
      const unknown = await makeTestKey('RS256');
      const token = await signWith(unknown, goodClaims());
      const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
      expect(results.every((r) => E.isLeft(r) && r.left._tag === 'TokenInvalid')).toBe(true);
      expect(guarded.fetches()).toBe(1);
    } finally {
      await guarded.close();
    }
  });

  it('an unreachable, failing, garbled or hanging JWKS endpoint is KeysUnavailable (503), not 401', async () => {
    const token = await signWith(rsa, goodClaims());
    const closedPort = await freePort();
    const refused = makeJwtVerifier({ ...config(), jwksUrl: `http://127.0.0.1:${closedPort}/jwks.json` });
    expect(await refused.verify(token)).toMatchObject({ left: { _tag: 'KeysUnavailable' } });
    const broken = await startJwksServer([rsa]);
    try {
      for (const behaviour of ['error500', 'garbage'] as const) {
        broken.behave(behaviour);
        const verifier = makeJwtVerifier({ ...config(), jwksUrl: broken.url });
        expect(await verifier.verify(token)).toMatchObject({ left: { _tag: 'KeysUnavailable' } });
      }
      broken.behave('hang');
      const slow = makeJwtVerifier({ ...config(), jwksUrl: broken.url, jwksTimeoutMs: 200 });
      const started = performance.now();
      expect(await slow.verify(token)).toMatchObject({ left: { _tag: 'KeysUnavailable' } });
      expect(performance.now() - started).toBeLessThan(1000);
      // Back in service: the same verifier recovers on the next call.
      broken.behave('serve');
      expect(E.isRight(await slow.verify(token))).toBe(true);
    } finally {
      await broken.close();
    }
  });
});
