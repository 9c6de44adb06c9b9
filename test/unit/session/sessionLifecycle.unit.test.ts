import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { fold } from '../../../domain/shared/decider.js';
import {
  SessionEvent,
  authorizationTtlDefaultMs,
  codeTtlDefaultMs,
  isActive,
  sessionDecider,
  type SessionCommand,
  type SessionEvent as Event,
} from '../../../domain/session/index.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';

const spec = DeciderSpecification.for(sessionDecider);
const t0 = 1_700_000_000_000;
const codeHash = 'c'.repeat(64);
const tokenHash = 'f'.repeat(64);
const codeDeadline = t0 + codeTtlDefaultMs;
const signInAt = t0 + 60_000;
const signInDeadline = signInAt + authorizationTtlDefaultMs;

const codeIssued: Event = { type: 'CodeIssued', data: { sessionId: 's-1', codeHash, at: t0, expiresAt: codeDeadline } };
const authorized: Event = {
  type: 'Authorized',
  data: { googleSubject: 'g-1', email: null, userId: 'u-1', tokenHash, at: signInAt, expiresAt: signInDeadline },
};
const revokedEvent = (at: number, reason = 'signed out'): Event => ({ type: 'Revoked', data: { reason, at } });
const expiredEvent = (phase: 'code' | 'authorization', expiresAt: number, at: number): Event => ({
  type: 'Expired',
  data: { phase, expiresAt, at },
});
const revoke = (at: number, reason = 'signed out'): SessionCommand => ({ type: 'Revoke', reason, at });
const markExpired = (at: number): SessionCommand => ({ type: 'MarkExpired', at });
const recordFailure = (at: number, reason: string): SessionCommand => ({ type: 'RecordFailedAttempt', reason, at });

describe('Session decider: ending a session', () => {
  describe('Revoke', () => {
    it('revokes a waiting or a signed-in session', () => {
      spec.given([codeIssued]).when(revoke(t0 + 1)).then([revokedEvent(t0 + 1)]);
      const state = spec.given([codeIssued, authorized]).when(revoke(signInAt + 1)).then([revokedEvent(signInAt + 1)]);
      expect(state).toEqual({ status: 'revoked', reason: 'signed out', revokedAt: signInAt + 1 });
      expect(isActive(state, signInAt + 2)).toBe(false);
    });

    it('emits nothing for a session that already ended', () => {
      spec.given([codeIssued, revokedEvent(t0 + 1)]).when(revoke(t0 + 2, 'again')).thenNothing();
      spec
        .given([codeIssued, expiredEvent('code', codeDeadline, codeDeadline)])
        .when(revoke(codeDeadline + 1))
        .thenNothing();
    });

    it('refuses an unknown session and a blank reason', () => {
      spec.when(revoke(t0)).thenFails('SessionNotFound');
      spec
        .given([codeIssued])
        .when(revoke(t0 + 1, ''))
        .thenFails((e) => e._tag === 'InvalidCommand' && e.field === 'reason');
    });
  });

  describe('MarkExpired', () => {
    it('expires an unused code from its deadline on, not before', () => {
      spec.given([codeIssued]).when(markExpired(codeDeadline - 1)).thenFails('NotYetExpired');
      const state = spec
        .given([codeIssued])
        .when(markExpired(codeDeadline))
        .then([expiredEvent('code', codeDeadline, codeDeadline)]);
      expect(state).toEqual({ status: 'expired', phase: 'code', expiredAt: codeDeadline });
    });

    it('expires a sign-in from its own deadline, not the code one', () => {
      const error = spec.given([codeIssued, authorized]).when(markExpired(codeDeadline + 1)).thenFails('NotYetExpired');
      expect(error).toEqual({ _tag: 'NotYetExpired', expiresAt: signInDeadline });
      spec
        .given([codeIssued, authorized])
        .when(markExpired(signInDeadline + 5))
        .then([expiredEvent('authorization', signInDeadline, signInDeadline + 5)]);
    });

    it('emits nothing for a session that already ended, refuses an unknown one', () => {
      spec
        .given([codeIssued, expiredEvent('code', codeDeadline, codeDeadline)])
        .when(markExpired(codeDeadline + 9))
        .thenNothing();
      spec.given([codeIssued, revokedEvent(t0 + 1)]).when(markExpired(codeDeadline + 9)).thenNothing();
      spec.when(markExpired(t0)).thenFails('SessionNotFound');
    });
  });

  describe('RecordFailedAttempt', () => {
    it.each([
      ['no session', []],
      ['a waiting session', [codeIssued]],
      ['a signed-in session', [codeIssued, authorized]],
      ['a revoked session', [codeIssued, revokedEvent(t0 + 1)]],
    ] as const)('records the attempt on %s without moving it', (_, history) => {
      const before = fold(sessionDecider, history);
      const after = spec
        .given(history)
        .when(recordFailure(t0 + 7, 'CodeExpired'))
        .then([{ type: 'AuthAttemptFailed', data: { reason: 'CodeExpired', at: t0 + 7 } }]);
      expect(after).toEqual(before);
    });

    it('records every repeat: each attempt is a fact', () => {
      const attempt: Event = { type: 'AuthAttemptFailed', data: { reason: 'bad code', at: t0 } };
      spec.given([attempt]).when(recordFailure(t0, 'bad code')).then([attempt]);
    });

    it('refuses a blank reason', () => {
      spec.when(recordFailure(t0, '  ')).thenFails('InvalidCommand');
    });
  });
});

describe('isActive', () => {
  const signedIn = fold(sessionDecider, [codeIssued, authorized]);

  it('is true for a signed-in session strictly before its deadline', () => {
    expect(isActive(signedIn, signInAt)).toBe(true);
    expect(isActive(signedIn, signInDeadline - 1)).toBe(true);
    expect(isActive(signedIn, signInDeadline)).toBe(false);
  });

  it('is false in every other phase', () => {
    expect(isActive(sessionDecider.initialState, t0)).toBe(false);
    expect(isActive(fold(sessionDecider, [codeIssued]), t0)).toBe(false);
    const revoked = fold(sessionDecider, [codeIssued, authorized, revokedEvent(signInAt + 1)]);
    expect(isActive(revoked, signInAt + 2)).toBe(false);
    const expiry = expiredEvent('authorization', signInDeadline, signInDeadline);
    const expired = fold(sessionDecider, [codeIssued, authorized, expiry]);
    expect(isActive(expired, signInAt + 2)).toBe(false);
  });
});

describe('SessionEvent codec', () => {
  it('decodes every event type after a JSON round trip', () => {
    const events: readonly Event[] = [
      codeIssued,
      { type: 'CodeConsumed', data: { at: t0 + 1 } },
      authorized,
      { ...authorized, data: { ...authorized.data, email: 'ada@example.com' } } as Event,
      revokedEvent(t0 + 2),
      expiredEvent('authorization', signInDeadline, signInDeadline),
      { type: 'AuthAttemptFailed', data: { reason: 'SessionRevoked', at: t0 } },
    ];
    for (const event of events) expect(SessionEvent.decode(JSON.parse(JSON.stringify(event)))).toEqual(E.right(event));
  });

  it.each([
    ['a code hash in upper case', { ...codeIssued, data: { ...codeIssued.data, codeHash: 'C'.repeat(64) } }],
    ['a missing expiry', { type: 'CodeIssued', data: { sessionId: 's', codeHash, at: t0 } }],
    ['an email that is not a string', { ...authorized, data: { ...authorized.data, email: 42 } }],
    ['a missing email (null is required)', { type: 'Authorized', data: { ...authorized.data, email: undefined } }],
    ['an unknown expiry phase', expiredEvent('forever' as 'code', 1, 1)],
    ['a negative instant', { type: 'CodeConsumed', data: { at: -1 } }],
    ['an unknown type', { type: 'SessionHijacked', data: { at: t0 } }],
  ])('rejects %s', (_, raw) => {
    expect(E.isLeft(SessionEvent.decode(raw))).toBe(true);
  });
});
