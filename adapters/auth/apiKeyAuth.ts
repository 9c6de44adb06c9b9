import * as E from 'fp-ts/lib/Either.js';
import type { ApiKeys, KeyPrincipal } from '../../application/apiKeys/keys.js';
import type { KeyedError, MeteredWithKey } from '../../application/apiKeys/meteredWithKey.js';
import type { GatewayError } from '../../application/gateway/errors.js';
import type { MeteredCompletion } from '../../application/gateway/meteredCompletion.js';
import { SECRET_PREFIX } from '../../application/apiKeys/keys.js';
import type { AuthError, TokenVerifier } from '../../application/ports/tokenVerifier.js';
import type { RequestHeaders } from './jwtRequest.js';
import { extractToken } from './jwtRequest.js';

/**
 * Who is calling, beside JWTs: an API key in `Authorization: Bearer <key>`
 * (OpenAI SDK style), in `x-api-key` (Anthropic SDK style), or in the
 * WebSocket upgrade (either header, or the `token` query parameter that
 * browsers need). A value that looks like one of our keys is checked as a
 * key and never handed to the JWT verifier; anything else is a JWT.
 *
 * Every check reads the key's stream tail, so a key revoked by another
 * process sharing the store is refused on the next request.
 */
export type Caller = { readonly kind: 'key'; readonly key: KeyPrincipal } | { readonly kind: 'user'; readonly userId: string };

export type CallerError = AuthError | { readonly _tag: 'KeyUnknown' } | { readonly _tag: 'KeyRevoked'; readonly revokedAt: number };

const headerValue = (headers: RequestHeaders, name: string): string | undefined => {
  const value = headers[name];
  if (typeof value === 'string' && value.length > 0) return value;
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
};

/** The credential presented: x-api-key first (it can only be a key), then the bearer token or query token. */
export const presentedCredential = (headers: RequestHeaders, url?: string): string | undefined =>
  headerValue(headers, 'x-api-key')?.trim() ?? extractToken(headers, url);

export const looksLikeApiKey = (credential: string | undefined): credential is string => credential?.startsWith(SECRET_PREFIX) === true;

export const makeCallerAuth = (deps: { readonly keys: Pick<ApiKeys, 'authenticate'>; readonly verifier: TokenVerifier }) => ({
  authenticate: async (headers: RequestHeaders, url?: string): Promise<E.Either<CallerError, Caller>> => {
    const credential = presentedCredential(headers, url);
    if (looksLikeApiKey(credential)) {
      const key = await deps.keys.authenticate(credential);
      return E.map((k: KeyPrincipal): Caller => ({ kind: 'key', key: k }))(key);
    }
    const verified = await deps.verifier.verify(credential);
    return E.map((p: { userId: string }): Caller => ({ kind: 'user', userId: p.userId }))(verified);
  },
});

export type CallerAuth = ReturnType<typeof makeCallerAuth>;

/** The id a key-authenticated WebSocket connection is known by; its completions are paid through the key. */
export const KEY_CONNECTION_PREFIX = 'apikey:';
export const connectionIdOfKey = (keyId: string): string => `${KEY_CONNECTION_PREFIX}${keyId}`;
export const keyIdOfConnection = (userId: string): string | undefined =>
  userId.startsWith(KEY_CONNECTION_PREFIX) ? userId.slice(KEY_CONNECTION_PREFIX.length) : undefined;

/** The key refusals in the WebSocket protocol's terms (it knows only GatewayError codes). */
export const toGatewayError = (error: KeyedError): GatewayError => {
  switch (error._tag) {
    case 'ModelNotAllowed':
      return { _tag: 'Forbidden', action: `use model ${error.model} with this API key` };
    case 'KeyRevoked':
      return { _tag: 'Forbidden', action: 'use a revoked API key' };
    case 'KeyLimitReached':
      return { _tag: 'InsufficientCredits', needed: error.needed, available: error.available };
    default:
      return error;
  }
};

/**
 * The completion a WebSocket gateway runs: a key-authenticated connection
 * (its user id is `apikey:<keyId>`) pays through the key, re-reading the key
 * for every request so a revocation stops the next one; a JWT connection is
 * unchanged.
 */
export const makeConnectionCompletion = (deps: {
  readonly completion: Pick<MeteredCompletion, 'run'>;
  readonly keys: Pick<ApiKeys, 'describe'>;
  readonly keyed: Pick<MeteredWithKey, 'run'>;
}): Pick<MeteredCompletion, 'run'> => ({
  run: async (req, sink, signal) => {
    const keyId = keyIdOfConnection(req.userId);
    if (keyId === undefined) return deps.completion.run(req, sink, signal);
    const key = await deps.keys.describe(keyId);
    if (key === undefined || key.status !== 'active') return E.left(toGatewayError({ _tag: 'KeyRevoked' }));
    const { userId: _connection, ...rest } = req;
    const principal: KeyPrincipal = { keyId, accountId: key.accountId, models: key.models, rateLimits: key.rateLimits, limit: key.limit };
    const outcome = await deps.keyed.run(principal, rest, sink, signal);
    return E.mapLeft(toGatewayError)(outcome);
  },
});
