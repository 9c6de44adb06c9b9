import * as E from 'fp-ts/lib/Either.js';
import { absurd, type Instant } from '../shared/decider.js';
import type { Authorize, IssueCode, SessionCommand } from './commands.js';
import type { SessionError } from './errors.js';
import type { SessionEvent } from './events.js';
import {
  authorizationTtlDefaultMs,
  authorizationTtlMaxMs,
  codeTtlDefaultMs,
  codeTtlMaxMs,
  isInstant,
  isSha256Hex,
  textProblem,
  ttlProblem,
  type FieldProblem,
} from './fields.js';
import type { SessionState } from './state.js';

type Decision = E.Either<SessionError, readonly SessionEvent[]>;

const nothing: Decision = E.right([]);
const emit = (event: SessionEvent): Decision => E.right([event]);
const reject = (error: SessionError): Decision => E.left(error);
const invalid = (field: string, problem: FieldProblem): SessionError => ({ _tag: 'InvalidCommand', field, problem });

/** The first problem with a command's fields, or undefined; rules about the session come after. */
const validate = (command: SessionCommand): SessionError | undefined => {
  if (!isInstant(command.at)) return invalid('at', 'not_an_instant');
  const text = (field: 'sessionId' | 'userId' | 'googleSubject' | 'email' | 'reason', value: unknown) => {
    const problem = textProblem(value, field);
    return problem === undefined ? undefined : invalid(field, problem);
  };
  const hash = (field: string, value: unknown) => (isSha256Hex(value) ? undefined : invalid(field, 'not_sha256_hex'));
  // The default TTL is checked too: near the end of time its deadline is out of range as well.
  const ttl = (value: number, maxMs: number) => {
    const problem = ttlProblem(command.at, value, maxMs);
    return problem === undefined ? undefined : invalid('ttlMs', problem);
  };
  switch (command.type) {
    case 'IssueCode':
      return (
        text('sessionId', command.sessionId) ??
        hash('codeHash', command.codeHash) ??
        ttl(command.ttlMs ?? codeTtlDefaultMs, codeTtlMaxMs)
      );
    case 'Authorize':
      return (
        text('googleSubject', command.googleSubject) ??
        (command.email === undefined ? undefined : text('email', command.email)) ??
        text('userId', command.userId) ??
        hash('tokenHash', command.tokenHash) ??
        ttl(command.ttlMs ?? authorizationTtlDefaultMs, authorizationTtlMaxMs)
      );
    case 'Revoke':
    case 'RecordFailedAttempt':
      return text('reason', command.reason);
    case 'ConsumeCode':
    case 'MarkExpired':
      return undefined;
    default:
      return absurd(command);
  }
};

/** The refusal for a session that has ended or never began; undefined while it is live. */
const notLive = (state: SessionState): SessionError | undefined => {
  switch (state.status) {
    case 'none':
      return { _tag: 'SessionNotFound' };
    case 'revoked':
      return { _tag: 'SessionRevoked', revokedAt: state.revokedAt };
    case 'expired':
      return { _tag: 'SessionExpired', expiredAt: state.expiredAt };
    case 'code_issued':
    case 'authorized':
      return undefined;
    default:
      return absurd(state);
  }
};

/** Issuing the same code hash again is a retry and emits nothing; anything else on a used stream is refused. */
const issueCode = (command: IssueCode, state: SessionState): Decision => {
  if (state.status === 'code_issued' && state.codeHash === command.codeHash) return nothing;
  if (state.status !== 'none') return reject({ _tag: 'SessionAlreadyExists', status: state.status });
  const { sessionId, codeHash, at } = command;
  const expiresAt = at + (command.ttlMs ?? codeTtlDefaultMs);
  return emit({ type: 'CodeIssued', data: { sessionId, codeHash, at, expiresAt } });
};

/** The code is single use: once exchanged, or once the session is signed in, it is spent. */
const consumeCode = (at: Instant, state: SessionState): Decision => {
  if (state.status === 'authorized') return reject({ _tag: 'CodeAlreadyUsed' });
  if (state.status !== 'code_issued') return reject(notLive(state) ?? { _tag: 'SessionNotFound' });
  if (state.consumedAt !== null) return reject({ _tag: 'CodeAlreadyUsed' });
  if (at >= state.expiresAt) return reject({ _tag: 'CodeExpired', expiresAt: state.expiresAt });
  return emit({ type: 'CodeConsumed', data: { at } });
};

/**
 * Sign-in must finish before the code's deadline, whether or not the code was
 * exchanged first. Repeating the same sign-in (same token, subject and user)
 * is a retry and emits nothing; a different one is refused.
 */
const authorize = (command: Authorize, state: SessionState): Decision => {
  const { googleSubject, userId, tokenHash, at } = command;
  const email = command.email ?? null;
  if (state.status === 'authorized') {
    const same =
      state.tokenHash === tokenHash &&
      state.googleSubject === googleSubject &&
      state.userId === userId &&
      state.email === email;
    return same ? nothing : reject({ _tag: 'AlreadyAuthorized' });
  }
  if (state.status !== 'code_issued') return reject(notLive(state) ?? { _tag: 'SessionNotFound' });
  if (at >= state.expiresAt) return reject({ _tag: 'CodeExpired', expiresAt: state.expiresAt });
  const expiresAt = at + (command.ttlMs ?? authorizationTtlDefaultMs);
  return emit({ type: 'Authorized', data: { googleSubject, email, userId, tokenHash, at, expiresAt } });
};

/** Ending a session that has already ended (revoked or expired) changes nothing and emits nothing. */
const hasEnded = (state: SessionState): boolean => state.status === 'revoked' || state.status === 'expired';

const markExpired = (at: Instant, state: SessionState): Decision => {
  if (hasEnded(state)) return nothing;
  if (state.status !== 'code_issued' && state.status !== 'authorized') return reject({ _tag: 'SessionNotFound' });
  if (at < state.expiresAt) return reject({ _tag: 'NotYetExpired', expiresAt: state.expiresAt });
  const phase = state.status === 'code_issued' ? 'code' : 'authorization';
  return emit({ type: 'Expired', data: { phase, expiresAt: state.expiresAt, at } });
};

export const decideSession = (command: SessionCommand, state: SessionState): Decision => {
  const problem = validate(command);
  if (problem !== undefined) return reject(problem);
  switch (command.type) {
    case 'IssueCode':
      return issueCode(command, state);
    case 'ConsumeCode':
      return consumeCode(command.at, state);
    case 'Authorize':
      return authorize(command, state);
    case 'Revoke':
      if (hasEnded(state)) return nothing;
      if (state.status === 'none') return reject({ _tag: 'SessionNotFound' });
      return emit({ type: 'Revoked', data: { reason: command.reason, at: command.at } });
    case 'MarkExpired':
      return markExpired(command.at, state);
    case 'RecordFailedAttempt':
      return emit({ type: 'AuthAttemptFailed', data: { reason: command.reason, at: command.at } });
    default:
      return absurd(command);
  }
};
