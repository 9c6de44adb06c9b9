import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { OAuthClient } from '../../../application/signin/oauthClient.js';
import { pkceChallenge } from '../../../application/signin/secrets.js';
import { cryptoSecrets } from '../../../adapters/system/secrets.js';
import { makeOidcClient } from '../../../adapters/auth/oidcClient.js';
import type { IdTokenTamper, OidcIssuer } from '../../support/oidcIssuer.js';
import { startOidcIssuer } from '../../support/oidcIssuer.js';

/**
 * The OpenID Connect client against the local strict issuer: the authorization
 * URL it builds, the code exchange with PKCE, and ID token verification
 * (signature, issuer, audience, nonce, expiry).
 */
const clientId = 'sora2-client';
const clientSecret = 'sora2-client-secret';
const redirectUri = 'http://app.test/api/sora2/auth/callback';
const otherRedirectUri = 'http://app.test/elsewhere';

let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer({ clientId, clientSecret, redirectUris: [redirectUri, otherRedirectUri], user: { sub: '1234567890', email: 'ada@example.com' } });
});
afterAll(() => issuer.close());

const client = (over: Partial<Parameters<typeof makeOidcClient>[0]> = {}): OAuthClient =>
  makeOidcClient({ issuer: issuer.issuer, clientId, clientSecret, redirectUri, timeoutMs: 2000, ...over });

const right = <A>(either: E.Either<unknown, A>): A => {
  if (E.isLeft(either)) throw new Error(`expected Right, got ${JSON.stringify(either.left)}`);
  return either.right;
};

/** Plays the browser: opens the authorization URL and reads the redirect back. */
const authorize = async (oauth: OAuthClient, verifier: string, nonce = 'nonce-1', state = 'state-1') => {
  const url = right(await oauth.authorizationUrl({ state, nonce, codeChallenge: pkceChallenge(verifier) }));
  const response = await fetch(url, { redirect: 'manual' });
  return { url: new URL(url), status: response.status, back: new URL(response.headers.get('location') ?? 'http://none/') };
};

const signIn = async (oauth: OAuthClient, tamper?: IdTokenTamper) => {
  const verifier = cryptoSecrets.random();
  const { back } = await authorize(oauth, verifier);
  if (tamper !== undefined) issuer.tamperNext(tamper);
  return oauth.exchange({ code: back.searchParams.get('code') ?? '', codeVerifier: verifier, nonce: 'nonce-1' });
};

describe('OIDC client against a local issuer', () => {
  it('sends code flow parameters with PKCE S256 and a nonce, and verifies the returned identity', async () => {
    const verifier = cryptoSecrets.random();
    const { url, status, back } = await authorize(client(), verifier);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'openid email',
      state: 'state-1',
      nonce: 'nonce-1',
      code_challenge: pkceChallenge(verifier),
      code_challenge_method: 'S256',
    });
    expect(status).toBe(302);
    expect(back.searchParams.get('state')).toBe('state-1');
    const identity = await client().exchange({ code: back.searchParams.get('code') ?? '', codeVerifier: verifier, nonce: 'nonce-1' });
    expect(identity).toEqual(E.right({ subject: '1234567890', email: 'ada@example.com', emailVerified: true }));
  });

  it('is refused by the issuer with a wrong PKCE verifier, a reused code, another redirect URI or a wrong secret', async () => {
    const verifier = cryptoSecrets.random();
    const first = await authorize(client(), verifier);
    const code = first.back.searchParams.get('code') ?? '';
    const wrongVerifier = await client().exchange({ code, codeVerifier: cryptoSecrets.random(), nonce: 'nonce-1' });
    expect(wrongVerifier).toEqual(E.left({ _tag: 'CodeRejected', message: 'invalid_grant: PKCE verification failed' }));
    // The issuer spends a code on any attempt, so the right verifier is now too late.
    expect(await client().exchange({ code, codeVerifier: verifier, nonce: 'nonce-1' })).toMatchObject(E.left({ _tag: 'CodeRejected' }));

    const second = await authorize(client(), verifier);
    const elsewhere = client({ redirectUri: otherRedirectUri });
    expect(await elsewhere.exchange({ code: second.back.searchParams.get('code') ?? '', codeVerifier: verifier, nonce: 'nonce-1' })).toEqual(
      E.left({ _tag: 'CodeRejected', message: 'invalid_grant: redirect_uri mismatch' }),
    );
    const third = await authorize(client(), verifier);
    const badSecret = client({ clientSecret: 'not-the-secret' });
    expect(await badSecret.exchange({ code: third.back.searchParams.get('code') ?? '', codeVerifier: verifier, nonce: 'nonce-1' })).toMatchObject(
      E.left({ _tag: 'CodeRejected', message: expect.stringContaining('invalid_client') }),
    );
    const unregistered = await authorize(client({ redirectUri: 'http://evil.test/cb' }), verifier);
    expect(unregistered.status).toBe(400);
  });

  it.each([
    ['a signature by another key', { rogueKey: true }, 'signature verification failed'],
    ['another audience', { audience: 'someone-else' }, 'unexpected audience'],
    ['another nonce', { nonce: 'replayed-nonce' }, 'nonce mismatch'],
    ['an expired token', { expiresInS: -120 }, 'ID token expired'],
    ['another issuer', { issuer: 'https://issuer.invalid' }, 'unexpected issuer'],
  ] as const)('rejects an ID token with %s', async (_, tamper, reason) => {
    expect(await signIn(client(), tamper)).toEqual(E.left({ _tag: 'IdTokenInvalid', reason }));
  });

  it('reports an unreachable issuer or a discovery document naming another issuer as an outage', async () => {
    const gone = client({ issuer: 'http://127.0.0.1:9' });
    expect(await gone.authorizationUrl({ state: 's', nonce: 'n', codeChallenge: pkceChallenge(cryptoSecrets.random()) })).toMatchObject(
      E.left({ _tag: 'ProviderUnavailable' }),
    );
    // Same server under another name: its document names 127.0.0.1, not the configured issuer, so it is refused.
    const impostor = client({ issuer: issuer.issuer.replace('127.0.0.1', 'localhost') });
    expect(await impostor.authorizationUrl({ state: 's', nonce: 'n', codeChallenge: 'x'.repeat(43) })).toEqual(
      E.left({ _tag: 'ProviderUnavailable', message: `discovery names another issuer (${issuer.issuer})` }),
    );
  });
});
