import * as E from 'fp-ts/lib/Either.js';
import * as client from 'openid-client';
import type { OAuthClient, OAuthError, VerifiedIdentity } from '../../application/signin/oauthClient.js';

/**
 * An OpenID Connect relying party (authorization code flow with PKCE S256 and
 * a nonce) for one issuer, on openid-client. Endpoints come from the issuer's
 * discovery document, whose `issuer` must equal the configured one (OIDC
 * Discovery 4.3, checked by openid-client). The code is redeemed with
 * client_secret_post and the PKCE verifier; openid-client verifies the ID
 * token against the issuer's JWKS (signature checks switched on with
 * enableNonRepudiationChecks), `iss`, `aud` = our client id
 * (and `azp` with several audiences), `exp`/`iat`, and the `nonce` we sent.
 * Its refusals are mapped here to the port's tagged errors, in words a log and
 * an auditor can use; network failures are outages, not the user's fault.
 */
export type OidcClientOptions = {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Registered at the issuer; where the browser comes back with `code` and `state`. */
  readonly redirectUri: string;
  readonly scope?: string;
  /** Extra authorization parameters (Google: `prompt=select_account`). */
  readonly extraAuthorizationParams?: Readonly<Record<string, string>>;
  /** One HTTP call (discovery, token, keys). Default 5000, rounded up to whole seconds. */
  readonly timeoutMs?: number;
  /** Slack for exp/iat between our clock and the issuer's, in seconds. Default 30. */
  readonly clockToleranceS?: number;
  /** The clock (ms since epoch); tests inject one. */
  readonly now?: () => number;
};

const discoveryCacheMs = 60 * 60 * 1000;

const unavailable = (message: string): OAuthError => ({ _tag: 'ProviderUnavailable', message });
const invalid = (reason: string): OAuthError => ({ _tag: 'IdTokenInvalid', reason });

type Inner = { readonly message?: string; readonly body?: { readonly issuer?: unknown }; readonly cause?: { readonly claim?: string } } | undefined;

const claimReason = (claim: string | undefined): string => {
  switch (claim) {
    case 'aud':
      return 'unexpected audience';
    case 'iss':
      return 'unexpected issuer';
    case 'nonce':
      return 'nonce mismatch';
    case 'azp':
      return 'unexpected authorized party';
    case 'exp':
      return 'ID token expired';
    default:
      return `claim "${claim ?? '?'}" rejected`;
  }
};

/** openid-client's refusals (its ClientError codes come from oauth4webapi) as the port's errors. */
const oauthError = (error: unknown): OAuthError => {
  if (error instanceof client.ResponseBodyError) {
    if (error.status >= 500) return unavailable(`token endpoint answered ${error.status}`);
    return { _tag: 'CodeRejected', message: `${error.error}${error.error_description === undefined ? '' : `: ${error.error_description}`}`.slice(0, 200) };
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0];
    return { _tag: 'CodeRejected', message: `${challenge?.parameters.error ?? 'invalid_client'} (${error.response.status})` };
  }
  if (error instanceof client.ClientError) {
    const inner = error.cause as Inner;
    switch (error.code) {
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
        return invalid(claimReason(inner?.cause?.claim));
      case 'OAUTH_KEY_SELECTION_FAILED':
        return invalid('no issuer key matches the token');
      case 'OAUTH_INVALID_RESPONSE':
        return invalid(inner?.message === 'JWT signature verification failed' ? 'signature verification failed' : `invalid token response: ${inner?.message ?? error.message}`);
      case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
        return unavailable(`discovery names another issuer (${String(inner?.body?.issuer)})`);
      default:
        return unavailable(`${error.message}${inner?.message === undefined ? '' : `: ${inner.message}`}`);
    }
  }
  return unavailable(`issuer unreachable: ${(error as Error).message}`);
};

export const makeOidcClient = (options: OidcClientOptions): OAuthClient => {
  const timeoutS = Math.max(1, Math.ceil((options.timeoutMs ?? 5000) / 1000));
  const now = options.now ?? Date.now;
  const issuerUrl = new URL(options.issuer.replace(/\/+$/, ''));
  // Plain http only for local issuers (tests, `npm run dev:oidc`); Google is https.
  const insecure = issuerUrl.protocol === 'http:';
  const metadata = (): Partial<client.ClientMetadata> => ({
    client_secret: options.clientSecret,
    // The injected clock, as openid-client sees time: the skew from the real one.
    [client.clockSkew]: Math.round((now() - Date.now()) / 1000),
    [client.clockTolerance]: options.clockToleranceS ?? 30,
  });
  let discovered: { server: client.ServerMetadata; at: number } | undefined;

  /** A Configuration per call (cheap, no I/O) so that the clock skew follows the injected clock. */
  const configuration = async (): Promise<client.Configuration> => {
    if (discovered === undefined || now() - discovered.at >= discoveryCacheMs) {
      const found = await client.discovery(issuerUrl, options.clientId, metadata(), client.ClientSecretPost(options.clientSecret), {
        timeout: timeoutS,
        ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
      });
      discovered = { server: found.serverMetadata(), at: now() };
    }
    const config = new client.Configuration(discovered.server, options.clientId, metadata(), client.ClientSecretPost(options.clientSecret));
    config.timeout = timeoutS;
    if (insecure) client.allowInsecureRequests(config);
    // openid-client trusts an ID token from the token endpoint on TLS alone
    // (OIDC Core 3.1.3.7 allows it); we also check its signature against the
    // issuer's keys, so a token endpoint answer is never taken on faith.
    client.enableNonRepudiationChecks(config);
    return config;
  };

  const identityOf = (claims: client.IDToken | undefined): E.Either<OAuthError, VerifiedIdentity> => {
    if (claims === undefined) return E.left(invalid('token response has no id_token'));
    const sub = claims.sub;
    if (typeof sub !== 'string' || sub.trim().length === 0 || sub.length > 255) return E.left(invalid('bad "sub" claim'));
    const email = claims['email'];
    const verified = claims['email_verified'];
    return E.right({
      subject: sub,
      ...(typeof email === 'string' && email.length <= 320 ? { email } : {}),
      ...(typeof verified === 'boolean' ? { emailVerified: verified } : {}),
    });
  };

  return {
    authorizationUrl: async (request) => {
      try {
        const config = await configuration();
        const url = client.buildAuthorizationUrl(config, {
          response_type: 'code',
          redirect_uri: options.redirectUri,
          scope: options.scope ?? 'openid email',
          state: request.state,
          nonce: request.nonce,
          code_challenge: request.codeChallenge,
          code_challenge_method: 'S256',
          ...options.extraAuthorizationParams,
        });
        return E.right(url.toString());
      } catch (error) {
        return E.left(oauthError(error));
      }
    },
    exchange: async ({ code, codeVerifier, nonce }) => {
      try {
        const config = await configuration();
        // The use case has already checked and spent `state`; openid-client
        // gets the callback as the browser brought it, minus the state.
        const callback = new URL(options.redirectUri);
        callback.searchParams.set('code', code);
        callback.searchParams.set('iss', config.serverMetadata().issuer);
        const tokens = await client.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: codeVerifier,
          expectedNonce: nonce,
          expectedState: client.skipStateCheck,
          idTokenExpected: true,
        });
        return identityOf(tokens.claims());
      } catch (error) {
        return E.left(oauthError(error));
      }
    },
  };
};
