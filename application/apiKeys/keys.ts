import { createHash, timingSafeEqual } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { ApiKeyError, ApiKeyEvent, ApiKeyState, KeyDetails, KeyLimit, KeyListed, KeyRateLimits } from '../../domain/apiKey/index.js';
import { ApiKeyEvent as ApiKeyEventCodec, apiKeyDecider, apiKeyStream, heldOf, KeyListed as KeyListedCodec, keyListDecider, keyListStream, periodStart, spentIn } from '../../domain/apiKey/index.js';
import type { HandlerOptions } from '../commandHandler.js';
import { makeCommandHandler } from '../commandHandler.js';
import type { Clock, Ids } from '../ports/clock.js';
import type { EventStore, RecordedEvent } from '../ports/eventStore.js';
import type { Secrets } from '../signin/secrets.js';

/**
 * API keys: create (the secret is returned once and only its SHA-256 is
 * stored), list, revoke, rotate, authenticate, and the key's own holds.
 *
 * A secret reads `clg_<keyId>_<43 random base64url characters>`: the prefix
 * makes a leaked key recognizable to secret scanners, and the key id in it
 * lets authentication load exactly one stream. Authentication reads that
 * stream's tail every time, so a revocation by any process sharing the store
 * is seen by the next request.
 */
export const SECRET_PREFIX = 'clg_';
const secretPattern = /^clg_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** The key id a secret names, if it has our shape; anything else is unknown without a lookup. */
export const keyIdOfSecret = (secret: string): string | undefined => secretPattern.exec(secret)?.[1];

export type KeyPrincipal = {
  readonly keyId: string;
  readonly accountId: string;
  readonly models: readonly string[] | null;
  readonly rateLimits: KeyRateLimits | null;
  readonly limit: KeyLimit | null;
};

export type KeyAuthError = { readonly _tag: 'KeyUnknown' } | { readonly _tag: 'KeyRevoked'; readonly revokedAt: number };

export type KeyView = {
  readonly keyId: string;
  readonly accountId: string;
  readonly prefix: string;
  readonly name: string | null;
  readonly status: 'active' | 'revoked';
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly limit: KeyLimit | null;
  readonly models: readonly string[] | null;
  readonly rateLimits: KeyRateLimits | null;
  /** Spent in the limit period containing now (all time when there is no periodic limit). */
  readonly spentInPeriod: number;
  readonly spentTotal: number;
  readonly held: number;
};

export type CreateKeyInput = {
  readonly accountId: string;
  readonly name?: string;
  readonly limit?: KeyLimit;
  readonly models?: readonly string[];
  readonly rateLimits?: KeyRateLimits;
};

export type ApiKeysDeps = { readonly store: EventStore; readonly clock: Clock; readonly ids: Ids; readonly secrets: Secrets; readonly handlerOptions?: HandlerOptions };

const decodeWith =
  <T>(codec: { decode: (u: unknown) => E.Either<unknown, T> }) =>
  (recorded: RecordedEvent): T | undefined => {
    const decoded = codec.decode({ type: recorded.type, data: recorded.data });
    return E.isRight(decoded) ? decoded.right : undefined;
  };

export const viewOf = (state: KeyDetails & { status: 'active' | 'revoked'; revokedAt?: number }, now: number): KeyView => {
  const start = state.limit === null || state.limit.period === 'total' ? state.period.start : Math.max(periodStart(state.limit.period, now), state.period.start);
  return {
    keyId: state.keyId,
    accountId: state.accountId,
    prefix: state.prefix,
    name: state.name,
    status: state.status,
    createdAt: state.createdAt,
    revokedAt: state.revokedAt ?? null,
    limit: state.limit,
    models: state.models,
    rateLimits: state.rateLimits,
    spentInPeriod: spentIn(state, start),
    spentTotal: state.spentTotal,
    held: heldOf(state),
  };
};

export const makeApiKeys = (deps: ApiKeysDeps) => {
  const options = deps.handlerOptions === undefined ? {} : { options: deps.handlerOptions };
  const keys = makeCommandHandler({ store: deps.store, decider: apiKeyDecider, decode: decodeWith<ApiKeyEvent>(ApiKeyEventCodec), clock: deps.clock, ids: deps.ids, ...options });
  const lists = makeCommandHandler({ store: deps.store, decider: keyListDecider, decode: decodeWith<KeyListed>(KeyListedCodec), clock: deps.clock, ids: deps.ids, ...options });
  const now = () => deps.clock.now();

  const newSecret = (keyId: string) => `${SECRET_PREFIX}${keyId}_${deps.secrets.random()}`;

  const stateOf = async (keyId: string): Promise<ApiKeyState> => (await keys.load(apiKeyStream(keyId))).state;

  const create = async (input: CreateKeyInput): Promise<E.Either<ApiKeyError | { _tag: 'TooManyKeys'; max: number }, { key: KeyView; secret: string }>> => {
    const keyId = hashSecret(deps.secrets.random()).slice(0, 24);
    const secret = newSecret(keyId);
    const at = now();
    const listed = await lists.handle(keyListStream(input.accountId), { type: 'ListKey', keyId, at });
    if (E.isLeft(listed)) return listed;
    const created = await keys.handle(apiKeyStream(keyId), {
      type: 'CreateKey',
      keyId,
      accountId: input.accountId,
      secretHash: hashSecret(secret),
      prefix: `${SECRET_PREFIX}${keyId}`,
      at,
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.limit === undefined ? {} : { limit: input.limit }),
      ...(input.models === undefined ? {} : { models: input.models }),
      ...(input.rateLimits === undefined ? {} : { rateLimits: input.rateLimits }),
    });
    if (E.isLeft(created)) return created;
    const state = created.right.state;
    if (state.status === 'none') throw new Error(`key ${keyId} missing after create`);
    return E.right({ key: viewOf(state, at), secret });
  };

  const describe = async (keyId: string): Promise<KeyView | undefined> => {
    const state = await stateOf(keyId);
    return state.status === 'none' ? undefined : viewOf(state, now());
  };

  const list = async (accountId: string): Promise<readonly KeyView[]> => {
    const index = await lists.load(keyListStream(accountId));
    const views = await Promise.all(index.state.keyIds.map(describe));
    return views.filter((v): v is KeyView => v !== undefined);
  };

  const revoke = async (keyId: string, reason: string) => {
    const result = await keys.handle(apiKeyStream(keyId), { type: 'RevokeKey', reason, at: now() });
    return E.map((r: { state: ApiKeyState }) => (r.state.status === 'none' ? undefined : viewOf(r.state, now())))(result);
  };

  const rotate = async (keyId: string) => {
    const secret = newSecret(keyId);
    const result = await keys.handle(apiKeyStream(keyId), { type: 'RotateKey', secretHash: hashSecret(secret), prefix: `${SECRET_PREFIX}${keyId}`, at: now() });
    if (E.isLeft(result)) return result;
    const state = result.right.state;
    if (state.status === 'none') throw new Error(`key ${keyId} missing after rotate`);
    return E.right({ key: viewOf(state, now()), secret });
  };

  /** Reads the key's tail (a revocation elsewhere is seen) and compares digests in constant time. */
  const authenticate = async (secret: string): Promise<E.Either<KeyAuthError, KeyPrincipal>> => {
    const keyId = keyIdOfSecret(secret);
    if (keyId === undefined) return E.left({ _tag: 'KeyUnknown' });
    const state = await stateOf(keyId);
    if (state.status === 'none') return E.left({ _tag: 'KeyUnknown' });
    const same = timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(state.secretHash, 'hex'));
    if (!same) return E.left({ _tag: 'KeyUnknown' });
    if (state.status === 'revoked') return E.left({ _tag: 'KeyRevoked', revokedAt: state.revokedAt });
    return E.right({ keyId, accountId: state.accountId, models: state.models, rateLimits: state.rateLimits, limit: state.limit });
  };

  const placeHold = (keyId: string, reservationId: string, amount: number, ttlMs: number, correlationId: string) => {
    const at = now();
    return keys.handle(apiKeyStream(keyId), { type: 'PlaceKeyHold', reservationId, amount, at, expiresAt: at + ttlMs }, { correlationId });
  };
  const settleHold = (keyId: string, reservationId: string, charge: number, correlationId: string) =>
    keys.handle(apiKeyStream(keyId), { type: 'SettleKeyHold', reservationId, charge, at: now() }, { correlationId });
  const releaseHold = (keyId: string, reservationId: string, reason: string, correlationId: string) =>
    keys.handle(apiKeyStream(keyId), { type: 'ReleaseKeyHold', reservationId, reason, at: now() }, { correlationId });

  return { create, list, describe, revoke, rotate, authenticate, placeHold, settleHold, releaseHold };
};

export type ApiKeys = ReturnType<typeof makeApiKeys>;
