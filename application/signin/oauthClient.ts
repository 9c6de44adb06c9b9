import type * as E from 'fp-ts/lib/Either.js';

/**
 * The OAuthClient port: an OpenID Connect provider (Google in production, a
 * local issuer in tests) seen from the sign-in use cases. The adapter owns the
 * redirect URI, the client credentials and the issuer's keys; the use case
 * owns state, nonce and the PKCE verifier (generated, stored, single use).
 */
export type AuthorizationRequest = {
  /** Opaque, random, single use; comes back on the callback. */
  readonly state: string;
  /** Must come back inside the ID token. */
  readonly nonce: string;
  /** BASE64URL(SHA-256(verifier)), sent with `code_challenge_method=S256`. */
  readonly codeChallenge: string;
};

export type VerifiedIdentity = {
  /** The issuer's stable subject (`sub`). */
  readonly subject: string;
  readonly email?: string;
  readonly emailVerified?: boolean;
};

export type OAuthError =
  /** The token endpoint refused the code (used, expired, wrong verifier or redirect URI). */
  | { readonly _tag: 'CodeRejected'; readonly message: string }
  /** The ID token did not verify: signature, issuer, audience, nonce, expiry, or shape. */
  | { readonly _tag: 'IdTokenInvalid'; readonly reason: string }
  /** Discovery, keys or token endpoint unreachable: not the user's fault. */
  | { readonly _tag: 'ProviderUnavailable'; readonly message: string };

export type OAuthClient = {
  /** The URL to send the browser to. */
  readonly authorizationUrl: (request: AuthorizationRequest) => Promise<E.Either<OAuthError, string>>;
  /** Redeems the authorization code with the PKCE verifier and verifies the ID token against `nonce`. */
  readonly exchange: (input: {
    readonly code: string;
    readonly codeVerifier: string;
    readonly nonce: string;
  }) => Promise<E.Either<OAuthError, VerifiedIdentity>>;
};
