import * as E from 'fp-ts/lib/Either.js';
import { authorizationTtlDefaultMs, isActive, sessionStream } from '../../domain/session/index.js';
import type { Clock } from '../ports/clock.js';
import type { SessionStore } from '../ports/sessionStore.js';
import type { SignInError } from './errors.js';
import type { Secrets } from './secrets.js';
import { looksLikeSecret, sha256Hex } from './secrets.js';
import type { SessionHandler } from './sessionHandler.js';

/**
 * Session tokens: issued by the code exchange, presented as a bearer token on
 * every Sora 2 call, revocable. The store maps the token's digest to its
 * session; the Session stream has the last word (revoked, expired), so a
 * lookup that outlived a revocation in another process still does not pass.
 */
export type Authenticated = { readonly sessionId: string; readonly userId: string; readonly expiresAt: number };

/**
 * The lookup outlives the session by an hour so that a late caller hears
 * "session expired" rather than "unknown token".
 */
const expiredGraceMs = 60 * 60 * 1000;

export const makeSessionTokens = (deps: {
  readonly handler: SessionHandler;
  readonly sessions: SessionStore;
  readonly clock: Clock;
  readonly secrets: Secrets;
  readonly recordFailure: (sessionId: string, reason: string) => Promise<void>;
  readonly sessionTtlMs?: number;
}) => {
  const { handler, sessions, clock } = deps;
  const sessionTtlMs = deps.sessionTtlMs ?? authorizationTtlDefaultMs;

  const issue = async (sessionId: string, userId: string, googleSubject: string) => {
    const sessionToken = deps.secrets.random();
    const tokenHash = sha256Hex(sessionToken);
    const at = clock.now();
    const authorized = await handler.handle(sessionStream(sessionId), {
      type: 'Authorize',
      googleSubject,
      userId,
      tokenHash,
      at,
      ttlMs: sessionTtlMs,
    });
    if (E.isLeft(authorized)) throw new Error(`authorizing session ${sessionId} failed: ${authorized.left._tag}`);
    const expiresAt = at + sessionTtlMs;
    await sessions.sessionTokens.put(tokenHash, { sessionId, userId, expiresAt }, sessionTtlMs + expiredGraceMs);
    return { sessionToken, expiresAt };
  };

  const authenticate = async (token: string | undefined): Promise<E.Either<SignInError, Authenticated>> => {
    if (token === undefined || !looksLikeSecret(token)) return E.left({ _tag: 'SessionInvalid' });
    const tokenHash = sha256Hex(token);
    const record = await sessions.sessionTokens.get(tokenHash);
    if (record === undefined) return E.left({ _tag: 'SessionInvalid' });
    const now = clock.now();
    const { sessionId } = record;
    const { state } = await handler.load(sessionStream(sessionId));
    if (state.status === 'revoked') {
      await deps.recordFailure(sessionId, 'revoked session token used');
      return E.left({ _tag: 'SessionRevoked' });
    }
    if (state.status === 'authorized' && state.tokenHash !== tokenHash) return E.left({ _tag: 'SessionInvalid' });
    if (state.status !== 'authorized' || !isActive(state, now)) {
      // Puts the end of the session on record once (MarkExpired emits nothing the second time).
      await handler.handle(sessionStream(sessionId), { type: 'MarkExpired', at: now });
      await deps.recordFailure(sessionId, 'expired session token used');
      return E.left({ _tag: 'SessionExpired', expiredAt: state.status === 'authorized' ? state.expiresAt : record.expiresAt });
    }
    return E.right({ sessionId, userId: state.userId, expiresAt: state.expiresAt });
  };

  const revoke = async (token: string | undefined): Promise<E.Either<SignInError, { sessionId: string }>> => {
    const session = await authenticate(token);
    if (E.isLeft(session)) return session;
    const { sessionId } = session.right;
    const revoked = await handler.handle(sessionStream(sessionId), { type: 'Revoke', reason: 'revoked by the user', at: clock.now() });
    if (E.isLeft(revoked)) throw new Error(`revoking session ${sessionId} failed: ${revoked.left._tag}`);
    // After the event: were the delete lost, the stream still says revoked.
    await sessions.sessionTokens.delete(sha256Hex(token ?? ''));
    return E.right({ sessionId });
  };

  return { issue, authenticate, revoke };
};
