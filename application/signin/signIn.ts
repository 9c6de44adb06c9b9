import * as E from 'fp-ts/lib/Either.js';
import { codeTtlDefaultMs, sessionStream } from '../../domain/session/index.js';
import type { HandlerOptions } from '../commandHandler.js';
import type { Clock, Ids, Logger } from '../ports/clock.js';
import type { EventStore } from '../ports/eventStore.js';
import type { SessionStore, VerificationCodeRecord } from '../ports/sessionStore.js';
import type { SignInError } from './errors.js';
import type { OAuthClient } from './oauthClient.js';
import type { Secrets } from './secrets.js';
import { looksLikeSecret, pkceChallenge, sha256Hex } from './secrets.js';
import type { SessionHandler } from './sessionHandler.js';
import { makeSessionHandler } from './sessionHandler.js';
import { makeSessionTokens } from './sessionTokens.js';

/**
 * The Sora 2 sign-in: a verification code (15 min, single use), Google
 * OpenID Connect bound to it by `state` + PKCE + nonce, and the exchange of the
 * signed-in code for a session token (24 h). The Session stream is the audit
 * trail; the SessionStore holds only the lookups, keyed by SHA-256 digests.
 *
 * Where the Session events fall: `CodeIssued` at start; the Google callback
 * links the account (in the code's lookup record); the exchange appends
 * `CodeConsumed` and then `Authorized` carrying the session token's hash. The
 * decider needs the token hash to authorize and refuses to consume a code of
 * an authorized session, so authorizing at the callback would mean keeping the
 * clear token in the store until the exchange; this order keeps no secret.
 */
export type SignInDeps = {
  readonly store: EventStore;
  readonly sessions: SessionStore;
  readonly oauth: OAuthClient;
  /** Opens the ledger account of a newly linked user (idempotent). */
  readonly openAccount: (userId: string) => Promise<void>;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly logger: Logger;
  readonly secrets: Secrets;
  readonly codeTtlMs?: number;
  readonly sessionTtlMs?: number;
  readonly handlerOptions?: HandlerOptions;
};

/** How a Google account maps to a ledger account: one account per Google subject, stable for life. */
export const userIdOf = (googleSubject: string): string => `google:${googleSubject}`;
export const subjectOf = (userId: string): string => (userId.startsWith('google:') ? userId.slice('google:'.length) : userId);

/**
 * The user code (RFC 8628 section 6.1): 8 letters from an alphabet without
 * vowels or look-alikes, shown as XXXX-XXXX. It only names a sign-in on the
 * confirmation page; it never buys a session (the device code does, and it
 * travels only in request bodies).
 */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export type Requester = { readonly address: string; readonly name?: string; readonly userAgent?: string };

const userCodeFrom = (random: string): string => {
  const bytes = Buffer.from(random, 'base64url');
  let code = '';
  // 256 = 12 * 20 + 16: bytes at 240 and above would bias the letters, so they are skipped.
  for (const byte of bytes) {
    if (byte >= 240) continue;
    code += USER_CODE_ALPHABET[byte % 20];
    if (code.length === 8) return code;
  }
  return code.padEnd(8, 'B');
};

/** Accepts what a person types: any case, dashes and spaces; undefined when it cannot be a user code. */
export const normalizeUserCode = (raw: string): string | undefined => {
  const letters = raw.toUpperCase().replace(/[\s-]/g, '');
  return letters.length === 8 && [...letters].every((c) => USER_CODE_ALPHABET.includes(c)) ? letters : undefined;
};
export const formatUserCode = (normalized: string): string => `${normalized.slice(0, 4)}-${normalized.slice(4)}`;
const userCodeKey = (normalized: string) => sha256Hex(`user-code:${normalized}`);

/** OAuth round trips take seconds; a state lives at most this long (and never past its code). */
const stateTtlMaxMs = 10 * 60 * 1000;

export const makeSignIn = (deps: SignInDeps) => {
  const { sessions, clock, logger } = deps;
  const { secrets } = deps;
  const codeTtlMs = deps.codeTtlMs ?? codeTtlDefaultMs;
  const handler: SessionHandler = makeSessionHandler({
    store: deps.store,
    clock,
    ids: deps.ids,
    ...(deps.handlerOptions === undefined ? {} : { handlerOptions: deps.handlerOptions }),
  });

  const recordFailure = async (sessionId: string, reason: string): Promise<void> => {
    const result = await handler.handle(sessionStream(sessionId), { type: 'RecordFailedAttempt', reason, at: clock.now() });
    if (E.isLeft(result)) logger.warn({ sessionId, error: result.left }, 'failed sign-in attempt not recorded');
  };

  const fail = async (sessionId: string, reason: string, error: SignInError): Promise<E.Either<SignInError, never>> => {
    await recordFailure(sessionId, reason);
    return E.left(error);
  };

  const tokens = makeSessionTokens({ handler, sessions, clock, secrets, recordFailure, ...(deps.sessionTtlMs === undefined ? {} : { sessionTtlMs: deps.sessionTtlMs }) });

  /** The code's lookup record, or why there is none. Shape-checked first: junk never reaches the store. */
  const findCode = async (code: string) => {
    if (!looksLikeSecret(code)) return undefined;
    const codeHash = sha256Hex(code);
    const record = await sessions.verificationCodes.get(codeHash);
    return record === undefined ? undefined : { codeHash, record };
  };

  /** A session waiting for sign-in: issued, not yet exchanged, not past its deadline. */
  const waiting = async (sessionId: string): Promise<E.Either<SignInError, { expiresAt: number }>> => {
    const { state } = await handler.load(sessionStream(sessionId));
    if (state.status === 'authorized' || (state.status === 'code_issued' && state.consumedAt !== null)) return E.left({ _tag: 'CodeAlreadyUsed' });
    if (state.status !== 'code_issued') return E.left({ _tag: 'CodeNotFound' });
    if (clock.now() >= state.expiresAt) return E.left({ _tag: 'CodeExpired' });
    return E.right({ expiresAt: state.expiresAt });
  };

  /** Who asked for a sign-in, as the confirmation page shows it (the name is the caller's own claim). */
  const start = async (requester: Requester = { address: 'unknown' }) => {
    const code = secrets.random();
    const codeHash = sha256Hex(code);
    const sessionId = deps.ids.newId();
    const at = clock.now();
    const issued = await handler.handle(sessionStream(sessionId), { type: 'IssueCode', sessionId, codeHash, at, ttlMs: codeTtlMs });
    if (E.isLeft(issued)) throw new Error(`issuing a verification code failed: ${issued.left._tag}`);
    const userCode = userCodeFrom(secrets.random());
    await sessions.verificationCodes.put(codeHash, { sessionId, status: 'pending' }, codeTtlMs);
    await sessions.verificationCodes.put(userCodeKey(userCode), { sessionId, status: 'pending', codeHash, requester: { ...requester, at } }, codeTtlMs);
    return { deviceCode: code, userCode: formatUserCode(userCode), sessionId, expiresAt: at + codeTtlMs };
  };

  /** The user-code entry and its session, if the sign-in it names can still happen. */
  const findUserCode = async (userCode: string) => {
    const normalized = normalizeUserCode(userCode);
    if (normalized === undefined) return E.left<SignInError>({ _tag: 'CodeNotFound' });
    const record = await sessions.verificationCodes.get(userCodeKey(normalized));
    if (record === undefined || record.codeHash === undefined) return E.left<SignInError>({ _tag: 'CodeNotFound' });
    const live = await waiting(record.sessionId);
    if (E.isLeft(live)) return live;
    return E.right({ record, codeHash: record.codeHash, normalized, expiresAt: live.right.expiresAt });
  };

  /** What the confirmation page shows before anything happens: who asked, when, and the code to compare. */
  const confirmation = async (userCode: string): Promise<E.Either<SignInError, { userCode: string; requester: NonNullable<VerificationCodeRecord['requester']>; expiresAt: number }>> => {
    const found = await findUserCode(userCode);
    if (E.isLeft(found)) return found;
    const requester = found.right.record.requester ?? { address: 'unknown', at: 0 };
    return E.right({ userCode: formatUserCode(found.right.normalized), requester, expiresAt: found.right.expiresAt });
  };

  /** Step 2a: the person confirmed on the page; send them to the provider with a fresh state, nonce and PKCE pair. */
  const beginAuthorization = async (userCode: string): Promise<E.Either<SignInError, { url: string }>> => {
    const found = await findUserCode(userCode);
    if (E.isLeft(found)) return found;
    const codeRecord = await sessions.verificationCodes.get(found.right.codeHash);
    if (codeRecord === undefined) return E.left({ _tag: 'CodeNotFound' });
    if (codeRecord.status === 'authorized') return E.left({ _tag: 'CodeAlreadyUsed' });
    const state = secrets.random();
    const nonce = secrets.random();
    const pkceVerifier = secrets.random();
    const ttlMs = Math.min(stateTtlMaxMs, found.right.expiresAt - clock.now());
    await sessions.oauthStates.put(state, { codeHash: found.right.codeHash, pkceVerifier, nonce }, ttlMs);
    const url = await deps.oauth.authorizationUrl({ state, nonce, codeChallenge: pkceChallenge(pkceVerifier) });
    if (E.isLeft(url)) return E.left({ _tag: 'IdentityProviderUnavailable', message: url.left._tag === 'ProviderUnavailable' ? url.left.message : url.left._tag });
    return E.right({ url: url.right });
  };

  /** "This was not me": the sign-in can never complete, and the attempt is on the audit trail. */
  const deny = async (userCode: string): Promise<E.Either<SignInError, { sessionId: string }>> => {
    const found = await findUserCode(userCode);
    if (E.isLeft(found)) return found;
    const { sessionId } = found.right.record;
    await sessions.verificationCodes.delete(found.right.codeHash);
    await sessions.verificationCodes.delete(userCodeKey(found.right.normalized));
    await recordFailure(sessionId, 'the person at the confirmation page said they did not start this sign-in');
    logger.warn({ sessionId }, 'sora2 sign-in denied at the confirmation page');
    return E.right({ sessionId });
  };

  /** Step 2b: the provider sends the browser back. The state is spent whatever happens next. */
  const completeAuthorization = async (input: {
    readonly state: string;
    readonly code?: string;
    readonly error?: string;
  }): Promise<E.Either<SignInError, { sessionId: string; userId: string; email?: string }>> => {
    const pending = input.state.length > 0 && input.state.length <= 200 ? await sessions.oauthStates.consume(input.state) : undefined;
    if (pending === undefined) return E.left({ _tag: 'InvalidState' });
    const codeRecord = await sessions.verificationCodes.get(pending.codeHash);
    if (codeRecord === undefined) return E.left({ _tag: 'CodeNotFound' });
    const { sessionId } = codeRecord;
    if (input.error !== undefined) return fail(sessionId, `identity provider error: ${input.error.slice(0, 100)}`, { _tag: 'SignInDeclined', error: input.error.slice(0, 100) });
    if (input.code === undefined || input.code.length === 0) return fail(sessionId, 'callback without an authorization code', { _tag: 'SignInFailed', reason: 'no authorization code' });
    if (codeRecord.status === 'authorized') return fail(sessionId, 'second sign-in for a signed-in code', { _tag: 'CodeAlreadyUsed' });
    const identity = await deps.oauth.exchange({ code: input.code, codeVerifier: pending.pkceVerifier, nonce: pending.nonce });
    if (E.isLeft(identity)) {
      const error = identity.left;
      if (error._tag === 'ProviderUnavailable') return E.left({ _tag: 'IdentityProviderUnavailable', message: error.message });
      const reason = error._tag === 'IdTokenInvalid' ? `ID token rejected: ${error.reason}` : `authorization code rejected: ${error.message}`;
      return fail(sessionId, reason.slice(0, 300), { _tag: 'SignInFailed', reason: reason.slice(0, 300) });
    }
    const live = await waiting(sessionId);
    if (E.isLeft(live)) return fail(sessionId, `sign-in for an unusable code: ${live.left._tag}`, live.left);
    const userId = userIdOf(identity.right.subject);
    await deps.openAccount(userId);
    await sessions.verificationCodes.put(pending.codeHash, { sessionId, status: 'authorized', userId }, live.right.expiresAt - clock.now());
    logger.info({ sessionId, userId }, 'sora2 sign-in linked');
    return E.right({ sessionId, userId, ...(identity.right.email === undefined ? {} : { email: identity.right.email }) });
  };

  /** Step 3: the signed-in code buys one session token, once. */
  const exchange = async (code: string): Promise<E.Either<SignInError, { sessionToken: string; expiresAt: number; userId: string; sessionId: string }>> => {
    const found = await findCode(code);
    if (found === undefined) return E.left({ _tag: 'CodeNotFound' });
    const { sessionId, userId } = found.record;
    if (found.record.status !== 'authorized' || userId === undefined) return E.left({ _tag: 'CodeNotAuthorized' });
    const consumed = await handler.handle(sessionStream(sessionId), { type: 'ConsumeCode', at: clock.now() });
    if (E.isLeft(consumed)) {
      const tag = consumed.left._tag;
      const error: SignInError = tag === 'CodeAlreadyUsed' ? { _tag: 'CodeAlreadyUsed' } : tag === 'CodeExpired' || tag === 'SessionExpired' ? { _tag: 'CodeExpired' } : { _tag: 'CodeNotFound' };
      return fail(sessionId, `code exchange refused: ${tag}`, error);
    }
    return E.right({ ...(await tokens.issue(sessionId, userId, subjectOf(userId))), userId, sessionId });
  };

  return {
    start,
    confirmation,
    beginAuthorization,
    deny,
    completeAuthorization,
    exchange,
    authenticate: tokens.authenticate,
    revoke: tokens.revoke,
    /** The session's current state (tests, admin tools). */
    session: async (sessionId: string) => (await handler.load(sessionStream(sessionId))).state,
  };
};

export type SignIn = ReturnType<typeof makeSignIn>;
