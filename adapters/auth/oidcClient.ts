import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { OAuthClient, OAuthError, VerifiedIdentity } from '../../application/signin/oauthClient.js';

/**
 * An OpenID Connect relying party (authorization code flow with PKCE S256 and
 * a nonce) for one issuer. Endpoints come from the issuer's discovery document
 * (`<issuer>/.well-known/openid-configuration`), whose `issuer` must equal the
 * configured one (OIDC Discovery 4.3). The ID token is verified with jose
 * against the issuer's JWKS: signature (RS256/ES256 only), `iss`, `aud` = our
 * client id (and `azp` when there are several audiences), `exp`/`iat`, and the
 * `nonce` we sent. Nothing else from the token endpoint is used.
 */
export type OidcClientOptions = {
  readonly issuer: string;
  /** Other spellings of the issuer accepted in `iss` (Google also uses "accounts.google.com"). */
  readonly alsoAcceptedIssuers?: readonly string[];
  readonly clientId: string;
  readonly clientSecret: string;
  /** Registered at the issuer; where the browser comes back with `code` and `state`. */
  readonly redirectUri: string;
  readonly scope?: string;
  /** Extra authorization parameters (Google: `prompt=select_account`). */
  readonly extraAuthorizationParams?: Readonly<Record<string, string>>;
  /** One HTTP call (discovery, token, keys). Default 5000. */
  readonly timeoutMs?: number;
  /** Slack for exp/iat between our clock and the issuer's, in seconds. Default 30. */
  readonly clockToleranceS?: number;
  /** The clock (ms since epoch); tests inject one. */
  readonly now?: () => number;
};

const Discovery = t.type({
  issuer: t.string,
  authorization_endpoint: t.string,
  token_endpoint: t.string,
  jwks_uri: t.string,
});
type Discovery = t.TypeOf<typeof Discovery>;

const TokenResponse = t.type({ id_token: t.string });
const TokenError = t.partial({ error: t.string, error_description: t.string });

const discoveryCacheMs = 60 * 60 * 1000;
const idTokenMaxLength = 16_384;

const unavailable = (message: string): OAuthError => ({ _tag: 'ProviderUnavailable', message });
const invalid = (reason: string): OAuthError => ({ _tag: 'IdTokenInvalid', reason });

/** jose's refusals, in words a log and an auditor can use. Key fetch failures are outages, not bad tokens. */
const idTokenError = (error: unknown): OAuthError => {
  if (error instanceof errors.JWTExpired) return invalid('ID token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid(`ID token lacks the "${error.claim}" claim`);
    if (error.claim === 'iss') return invalid('unexpected issuer');
    if (error.claim === 'aud') return invalid('unexpected audience');
    return invalid(`claim "${error.claim}" rejected`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('signature verification failed');
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('no issuer key matches the token');
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return invalid('algorithm not allowed');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return invalid('malformed ID token');
  return unavailable(`issuer keys unavailable: ${(error as Error).message}`);
};

export const makeOidcClient = (options: OidcClientOptions): OAuthClient => {
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  const issuer = options.issuer.replace(/\/+$/, '');
  let discovered: { doc: Discovery; keys: JWTVerifyGetKey; at: number } | undefined;

  const discover = async (): Promise<E.Either<OAuthError, { doc: Discovery; keys: JWTVerifyGetKey }>> => {
    if (discovered !== undefined && now() - discovered.at < discoveryCacheMs) return E.right(discovered);
    try {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) return E.left(unavailable(`discovery answered ${response.status}`));
      const doc = Discovery.decode(await response.json());
      if (E.isLeft(doc)) return E.left(unavailable('discovery document is malformed'));
      if (doc.right.issuer.replace(/\/+$/, '') !== issuer) return E.left(unavailable(`discovery names another issuer (${doc.right.issuer})`));
      const keys = createRemoteJWKSet(new URL(doc.right.jwks_uri), { timeoutDuration: timeoutMs, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      discovered = { doc: doc.right, keys, at: now() };
      return E.right(discovered);
    } catch (error) {
      return E.left(unavailable(`discovery failed: ${(error as Error).message}`));
    }
  };

  const redeem = async (doc: Discovery, code: string, codeVerifier: string): Promise<E.Either<OAuthError, string>> => {
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: options.redirectUri,
      code_verifier: codeVerifier,
      client_id: options.clientId,
      client_secret: options.clientSecret,
    });
    try {
      const response = await fetch(doc.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const json: unknown = await response.json().catch(() => undefined);
      if (response.status >= 500) return E.left(unavailable(`token endpoint answered ${response.status}`));
      if (!response.ok) {
        const detail = TokenError.is(json) ? `${json.error ?? 'error'}${json.error_description === undefined ? '' : `: ${json.error_description}`}` : `status ${response.status}`;
        return E.left({ _tag: 'CodeRejected', message: detail.slice(0, 200) });
      }
      const tokens = TokenResponse.decode(json);
      if (E.isLeft(tokens)) return E.left(invalid('token response has no id_token'));
      return E.right(tokens.right.id_token);
    } catch (error) {
      return E.left(unavailable(`token endpoint unreachable: ${(error as Error).message}`));
    }
  };

  const verify = async (keys: JWTVerifyGetKey, idToken: string, nonce: string): Promise<E.Either<OAuthError, VerifiedIdentity>> => {
    if (idToken.length > idTokenMaxLength) return E.left(invalid('ID token too long'));
    try {
      const { payload } = await jwtVerify(idToken, keys, {
        issuer: [issuer, ...(options.alsoAcceptedIssuers ?? [])],
        audience: options.clientId,
        algorithms: ['RS256', 'ES256'],
        requiredClaims: ['sub', 'exp', 'iat', 'nonce'],
        clockTolerance: options.clockToleranceS ?? 30,
        currentDate: new Date(now()),
      });
      if (payload['nonce'] !== nonce) return E.left(invalid('nonce mismatch'));
      const aud = payload.aud;
      if (Array.isArray(aud) && aud.length > 1 && payload['azp'] !== options.clientId) return E.left(invalid('unexpected authorized party'));
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub.trim().length === 0 || sub.length > 255) return E.left(invalid('bad "sub" claim'));
      const email = payload['email'];
      const verified = payload['email_verified'];
      return E.right({
        subject: sub,
        ...(typeof email === 'string' && email.length <= 320 ? { email } : {}),
        ...(typeof verified === 'boolean' ? { emailVerified: verified } : {}),
      });
    } catch (error) {
      return E.left(idTokenError(error));
    }
  };

  return {
    authorizationUrl: async (request) => {
      const found = await discover();
      if (E.isLeft(found)) return found;
      const url = new URL(found.right.doc.authorization_endpoint);
      const params = {
        response_type: 'code',
        client_id: options.clientId,
        redirect_uri: options.redirectUri,
        scope: options.scope ?? 'openid email',
        state: request.state,
        nonce: request.nonce,
        code_challenge: request.codeChallenge,
        code_challenge_method: 'S256',
        ...options.extraAuthorizationParams,
      };
      for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
      return E.right(url.toString());
    },
    exchange: async ({ code, codeVerifier, nonce }) => {
      const found = await discover();
      if (E.isLeft(found)) return found;
      const idToken = await redeem(found.right.doc, code, codeVerifier);
      if (E.isLeft(idToken)) return idToken;
      return verify(found.right.keys, idToken.right, nonce);
    },
  };
};
