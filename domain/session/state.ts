import { absurd, type Instant } from '../shared/decider.js';
import type { SessionEvent } from './events.js';

/**
 * A session is in exactly one phase, and each phase carries only the data
 * that exists in it: a revoked session has no token hash to leak, a session
 * still waiting for its code has no user. The session id is the stream's and
 * is known to the caller, so the state does not repeat it.
 */
export type NoSession = { readonly status: 'none' };
export type CodeIssuedSession = {
  readonly status: 'code_issued';
  readonly codeHash: string;
  readonly issuedAt: Instant;
  readonly expiresAt: Instant;
  /** When the code was exchanged; null while it is still unused. */
  readonly consumedAt: Instant | null;
};
export type AuthorizedSession = {
  readonly status: 'authorized';
  readonly googleSubject: string;
  readonly email: string | null;
  readonly userId: string;
  readonly tokenHash: string;
  readonly authorizedAt: Instant;
  readonly expiresAt: Instant;
};
export type RevokedSession = { readonly status: 'revoked'; readonly reason: string; readonly revokedAt: Instant };
export type ExpiredSession = {
  readonly status: 'expired';
  readonly phase: 'code' | 'authorization';
  readonly expiredAt: Instant;
};

export type SessionState = NoSession | CodeIssuedSession | AuthorizedSession | RevokedSession | ExpiredSession;
export type SessionStatus = SessionState['status'];

export const initialSession: SessionState = { status: 'none' };

/**
 * Total over every event in every state. `decide` only emits events that fit
 * the current phase; for a history that does not (hand-edited, or from a
 * future version), each event still means what it says: it sets the phase it
 * names, and a consumption outside the code phase changes nothing.
 */
export const evolveSession = (state: SessionState, event: SessionEvent): SessionState => {
  switch (event.type) {
    case 'CodeIssued': {
      const { codeHash, at, expiresAt } = event.data;
      return { status: 'code_issued', codeHash, issuedAt: at, expiresAt, consumedAt: null };
    }
    case 'CodeConsumed':
      return state.status === 'code_issued' ? { ...state, consumedAt: event.data.at } : state;
    case 'Authorized': {
      const { googleSubject, email, userId, tokenHash, at, expiresAt } = event.data;
      return { status: 'authorized', googleSubject, email, userId, tokenHash, authorizedAt: at, expiresAt };
    }
    case 'Revoked':
      return { status: 'revoked', reason: event.data.reason, revokedAt: event.data.at };
    case 'Expired':
      return { status: 'expired', phase: event.data.phase, expiredAt: event.data.at };
    case 'AuthAttemptFailed':
      // A failed attempt is on the record for auditors; it does not move the session.
      return state;
    default:
      return absurd(event);
  }
};

/** Is this a signed-in session that may be used at `now`? Pure: the caller supplies the time. */
export const isActive = (state: SessionState, now: Instant): boolean =>
  state.status === 'authorized' && now < state.expiresAt;
