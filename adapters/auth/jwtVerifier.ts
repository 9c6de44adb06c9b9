import { webcrypto } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FlattenedJWSInput, JWTHeaderParameters, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { AuthError, Principal, TokenVerifier } from '../../application/ports/tokenVerifier.js';
import { userIdProblem } from './userId.js';

type CommonConfig = {
  /** Required `iss` (one or several accepted values); unchecked when absent. */
  readonly issuer?: string | readonly string[];
  /** Required `aud` (any one of these); unchecked when absent. */
  readonly audience?: string | readonly string[];
  /** Slack for exp/nbf between our clock and the issuer's, in seconds. Default 5. */
  readonly clockToleranceS?: number;
  /** Refuse tokens without `exp` (default true): a token that never expires cannot be contained. */
  readonly requireExp?: boolean;
  /** Longer tokens are refused before any parsing. Default 8 KiB. */
  readonly maxTokenLength?: number;
  /** The clock (ms since epoch); tests inject one. */
  readonly now?: () => number;
  /**
   * JWT_MAX_LIFETIME in seconds: a token whose `exp` lies further than this in the future is refused
   * (an `exp` of 1e300 is a token that never expires). Default 30 days.
   */
  readonly maxLifetimeS?: number;
};

export type JwtVerifierConfig =
  | (CommonConfig & {
      readonly mode: 'hs256';
      /** JWT_SECRET; at least 32 bytes (RFC 7518 3.2: a key as long as the hash). */
      readonly secret: string;
    })
  | (CommonConfig & {
      readonly mode: 'jwks';
      /** JWT_JWKS_URL. */
      readonly jwksUrl: string;
      /** Subset of RS256/ES256 to accept; default both. */
      readonly algorithms?: readonly ('RS256' | 'ES256')[];
      /** Timeout of one JWKS fetch (ms). Default 5000. */
      readonly jwksTimeoutMs?: number;
      /** Minimum time between refetches for an unknown `kid` (ms). Default 30 000. */
      readonly jwksCooldownMs?: number;
      /** How long a fetched key set is trusted before it is fetched again (ms). Default 10 min. */
      readonly jwksCacheMaxAgeMs?: number;
    });

const DEFAULT_MAX_LIFETIME_S = 30 * 86_400;

const invalid = (reason: string): AuthError => ({ _tag: 'TokenInvalid', reason });

/**
 * fetch() reports network failures as `TypeError: fetch failed`. Matched by
 * name, not instanceof, because the error may come from another realm (undici
 * inside Node, test sandboxes).
 */
const isFetchFailure = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { name?: unknown }).name === 'TypeError' &&
  /fetch/i.test(String((error as { message?: unknown }).message));

/** Maps jose's errors to ours. Unknown errors are bugs and are rethrown by the caller. */
const toAuthError = (error: unknown, mode: JwtVerifierConfig['mode']): AuthError | undefined => {
  if (error instanceof errors.JWTExpired) {
    const exp = error.payload['exp'];
    return typeof exp === 'number' ? { _tag: 'TokenExpired', expiredAt: exp * 1000 } : { _tag: 'TokenExpired' };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid(`missing claim "${error.claim}"`);
    if (error.claim === 'nbf') return invalid('token not yet valid (nbf)');
    if (error.claim === 'iss') return invalid('unexpected issuer');
    if (error.claim === 'aud') return invalid('unexpected audience');
    return invalid(`claim "${error.claim}" rejected`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid('algorithm not allowed');
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('signature verification failed');
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('no signing key matches the token');
  if (error instanceof errors.JWKSMultipleMatchingKeys) return invalid('several signing keys match the token');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return invalid('malformed token');
  if (error instanceof errors.JOSENotSupported) return invalid('unsupported token algorithm or header');
  if (mode === 'jwks' && (error instanceof errors.JOSEError || isFetchFailure(error))) {
    // Timeouts, a non-200 answer or an unparsable key set (JWKSTimeout,
    // JWKSInvalid, generic JOSEError), and network failures from fetch itself.
    return { _tag: 'KeysUnavailable', reason: (error as Error).message };
  }
  return undefined;
};

const toPrincipal = (payload: JWTPayload, nowMs: number, maxLifetimeS: number, toleranceS: number): E.Either<AuthError, Principal> => {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.trim().length === 0) return E.left(invalid('empty "sub" claim'));
  const subProblem = userIdProblem(sub);
  if (subProblem !== undefined) return E.left(invalid(`"sub" claim ${subProblem}, so it cannot name an account`));
  const exp = payload.exp;
  if (typeof exp === 'number' && exp * 1000 - nowMs > (maxLifetimeS + toleranceS) * 1000) {
    return E.left(invalid(`"exp" is more than ${maxLifetimeS} s in the future (JWT_MAX_LIFETIME)`));
  }
  const roles = payload['roles'];
  // Roles are advisory (permissions live in the Permissions aggregate), so a
  // roles claim of another shape is ignored rather than refusing the token.
  const stringRoles = Array.isArray(roles) && roles.every((r) => typeof r === 'string') ? (roles as string[]) : undefined;
  return E.right(stringRoles === undefined ? { userId: sub, claims: payload } : { userId: sub, roles: stringRoles, claims: payload });
};

const keyFor = (config: JwtVerifierConfig): Promise<webcrypto.CryptoKey> | JWTVerifyGetKey => {
  if (config.mode === 'hs256') {
    const key = new TextEncoder().encode(config.secret);
    if (key.length < 32) throw new RangeError('JWT secret must be at least 32 bytes');
    // Imported once: given the raw bytes, jose imports the key again for every token (a third of a verification's CPU).
    return webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  }
  return createRemoteJWKSet(new URL(config.jwksUrl), {
    timeoutDuration: config.jwksTimeoutMs ?? 5000,
    cooldownDuration: config.jwksCooldownMs ?? 30_000,
    cacheMaxAge: config.jwksCacheMaxAgeMs ?? 600_000,
  });
};

/**
 * Tokens this process verified lately, so a client that sends the same token
 * with every request (the HTTP APIs, MCP) pays for one signature check, not
 * one per request (50-400 us of CPU each under load, from the profile of the
 * OpenAI-compatible API).
 *
 * What a token's verification decides is fixed by the token and the key,
 * except time: so an entry answers only while the token's `exp`, plus the
 * clock tolerance jose allows, has not passed, and for at most
 * `ttlMs` after it was verified, so a key removed from a JWKS stops being
 * honoured within that time. Only successes are kept, only tokens with an
 * `exp`, and only short ones, with the oldest entry dropped when the cache is
 * full: at most `maxEntries` x `maxTokenLength` characters.
 */
export const makeVerifiedTokenCache = <Binding = undefined>(
  options: { readonly toleranceMs?: number; readonly ttlMs?: number; readonly maxEntries?: number; readonly maxTokenLength?: number } = {},
) => {
  const toleranceMs = options.toleranceMs ?? 0;
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 4096;
  const maxTokenLength = options.maxTokenLength ?? 2048;
  type Entry = { readonly principal: Principal; readonly binding: Binding; readonly expMs: number; readonly untilMs: number };
  const entries = new Map<string, Entry>();
  return {
    /** The entry of a token verified before, if its `exp` has not passed at `nowMs` (with the tolerance) and the entry is fresh. */
    get: (token: string, nowMs: number): Entry | undefined => {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      if (entry.expMs > nowMs - toleranceMs && entry.untilMs > nowMs) return entry;
      entries.delete(token);
      return undefined;
    },
    /** Keeps a verified token; answers the principal as kept (frozen: shared by every request that presents the token). */
    set: (token: string, principal: Principal, binding: Binding, expMs: number, nowMs: number): Principal => {
      const frozen = Object.freeze({ ...principal, claims: Object.freeze({ ...principal.claims }) });
      if (token.length > maxTokenLength) return frozen;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(token, { principal: frozen, binding, expMs, untilMs: nowMs + ttlMs });
      return frozen;
    },
    delete: (token: string): void => {
      entries.delete(token);
    },
    size: (): number => entries.size,
  };
};

/**
 * Verifies JWTs with jose. The algorithm allow-list is fixed by the mode, never
 * read from the token: HS256 mode accepts only HS256, JWKS mode only RS256 and
 * ES256. So `alg: none` is refused, and so is the classic confusion attack (an
 * HS256 token "signed" with the RSA public key as an HMAC secret).
 */
export const makeJwtVerifier = (config: JwtVerifierConfig): TokenVerifier => {
  const key = keyFor(config);
  const algorithms = config.mode === 'hs256' ? ['HS256'] : [...(config.algorithms ?? ['RS256', 'ES256'])];
  const maxTokenLength = config.maxTokenLength ?? 8192;
  const base: JWTVerifyOptions = {
    algorithms,
    clockTolerance: config.clockToleranceS ?? 5,
    requiredClaims: config.requireExp === false ? ['sub'] : ['sub', 'exp'],
    ...(config.issuer === undefined ? {} : { issuer: typeof config.issuer === 'string' ? config.issuer : [...config.issuer] }),
    ...(config.audience === undefined ? {} : { audience: typeof config.audience === 'string' ? config.audience : [...config.audience] }),
  };

  // In JWKS mode an entry is bound to the key object that verified it: a refetched key set makes new
  // key objects, so a token is checked again (and refused, if its key was retired) after every refetch.
  type Binding = { readonly header: JWTHeaderParameters; readonly key: unknown } | undefined;
  const verified = makeVerifiedTokenCache<Binding>({ toleranceMs: (config.clockToleranceS ?? 5) * 1000 });
  const stillBound = async (binding: Binding): Promise<boolean> => {
    // HS256: one secret for the life of the process.
    if (typeof key !== 'function') return true;
    if (binding === undefined) return false;
    try {
      return (await key(binding.header, undefined as unknown as FlattenedJWSInput)) === binding.key;
    } catch {
      return false;
    }
  };

  const verify = async (token: string | undefined): Promise<E.Either<AuthError, Principal>> => {
    if (token === undefined || token.length === 0) return E.left({ _tag: 'TokenMissing' });
    if (token.length > maxTokenLength) return E.left(invalid('token too long'));
    const nowMs = config.now?.() ?? Date.now();
    const known = verified.get(token, nowMs);
    if (known !== undefined) {
      if (await stillBound(known.binding)) return E.right(known.principal);
      verified.delete(token);
    }
    const options = config.now === undefined ? base : { ...base, currentDate: new Date(nowMs) };
    let payload: JWTPayload;
    let binding: Binding;
    try {
      if (typeof key === 'function') {
        // When several keys match, jose tries them itself and this sees none: such a token is not kept.
        const capture: JWTVerifyGetKey = async (header, input) => {
          const resolved = await key(header, input);
          binding = { header, key: resolved };
          return resolved;
        };
        ({ payload } = await jwtVerify(token, capture, options));
      } else ({ payload } = await jwtVerify(token, await key, options));
    } catch (error) {
      const mapped = toAuthError(error, config.mode);
      if (mapped === undefined) throw error;
      return E.left(mapped);
    }
    const principal = toPrincipal(payload, nowMs, config.maxLifetimeS ?? DEFAULT_MAX_LIFETIME_S, config.clockToleranceS ?? 5);
    if (E.isLeft(principal) || typeof payload.exp !== 'number' || (typeof key === 'function' && binding === undefined)) return principal;
    return E.right(verified.set(token, principal.right, binding, payload.exp * 1000, nowMs));
  };

  return { kind: config.mode, verify };
};
