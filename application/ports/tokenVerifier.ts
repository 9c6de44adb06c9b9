import type * as E from 'fp-ts/lib/Either.js';

/**
 * The TokenVerifier port: turns a bearer token into the caller's identity, or
 * says precisely why not. Used by the WebSocket upgrade and the REST auth
 * scheme alike, so both refuse exactly the same tokens.
 *
 * Expected refusals are values (`Left`); only bugs throw. The adapter
 * (adapters/auth/jwtVerifier.ts) checks signature, algorithm allow-list,
 * issuer/audience when configured, exp/nbf with a small tolerance, and a
 * non-empty `sub`.
 */

export type Principal = {
  /** The token's `sub`: the ledger user id. Never empty. */
  readonly userId: string;
  /** The `roles` claim when it is an array of strings. */
  readonly roles?: readonly string[];
  /** Every verified claim, for callers that need more (email, scope...). */
  readonly claims: Readonly<Record<string, unknown>>;
};

export type AuthError =
  /** No token was presented. */
  | { readonly _tag: 'TokenMissing' }
  /** Presented but unacceptable; `reason` is safe to log and to show. */
  | { readonly _tag: 'TokenInvalid'; readonly reason: string }
  /** Past `exp` (plus tolerance); `expiredAt` in ms since epoch when known. */
  | { readonly _tag: 'TokenExpired'; readonly expiredAt?: number }
  /**
   * The signing keys could not be fetched (JWKS URL down or answering
   * garbage). Not the caller's fault: map to 503, not 401.
   */
  | { readonly _tag: 'KeysUnavailable'; readonly reason: string };

export type TokenVerifier = {
  /** "hs256" or "jwks", for logs and /health. */
  readonly kind: string;
  /** `undefined` or '' is `TokenMissing`, so callers can pass extractToken's result straight in. */
  readonly verify: (token: string | undefined) => Promise<E.Either<AuthError, Principal>>;
};
