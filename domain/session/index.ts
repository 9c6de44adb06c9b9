import type { Decider } from '../shared/decider.js';
import type { SessionCommand } from './commands.js';
import { decideSession } from './decide.js';
import type { SessionError } from './errors.js';
import type { SessionEvent } from './events.js';
import { evolveSession, initialSession, type SessionState } from './state.js';

/**
 * The Session aggregate: one stream per Sora 2 sign-in, from the verification
 * code to the Google sign-in and its end. Redis holds only the short-lived
 * lookups (code hash -> session, token hash -> session); this stream is the
 * audit trail. Ask `isActive(state, now)`.
 */
export const sessionDecider: Decider<SessionCommand, SessionEvent, SessionState, SessionError> = {
  decide: decideSession,
  evolve: evolveSession,
  initialState: initialSession,
};

export const sessionStreamPrefix = 'session-';
export const sessionStream = (sessionId: string): string => `${sessionStreamPrefix}${sessionId}`;

export type * from './commands.js';
export type { SessionError } from './errors.js';
export * from './events.js';
export {
  authorizationTtlDefaultMs,
  authorizationTtlMaxMs,
  codeTtlDefaultMs,
  codeTtlMaxMs,
  textMaxLength,
} from './fields.js';
export * from './state.js';
