import { describe, expect, it } from '@jest/globals';
import {
  authorizationTtlDefaultMs,
  codeTtlDefaultMs,
  codeTtlMaxMs,
  isActive,
  sessionDecider,
  sessionStream,
  type Authorize,
  type SessionCommand,
  type SessionEvent,
} from '../../../domain/session/index.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';

const spec = DeciderSpecification.for(sessionDecider);
const t0 = 1_700_000_000_000;
const codeHash = 'c'.repeat(64);
const tokenHash = 'a1'.repeat(32);
const codeDeadline = t0 + codeTtlDefaultMs;

const issue = (overrides: Partial<Extract<SessionCommand, { type: 'IssueCode' }>> = {}): SessionCommand => ({
  type: 'IssueCode',
  sessionId: 's-1',
  codeHash,
  at: t0,
  ...overrides,
});
const consume = (at: number): SessionCommand => ({ type: 'ConsumeCode', at });
const authorize = (at: number, overrides: Partial<Authorize> = {}): SessionCommand => ({
  type: 'Authorize',
  googleSubject: 'google-123',
  email: 'ada@example.com',
  userId: 'u-1',
  tokenHash,
  at,
  ...overrides,
});

const codeIssued: SessionEvent = {
  type: 'CodeIssued',
  data: { sessionId: 's-1', codeHash, at: t0, expiresAt: codeDeadline },
};
const consumed = (at: number): SessionEvent => ({ type: 'CodeConsumed', data: { at } });
const authorized = (at: number): SessionEvent => ({
  type: 'Authorized',
  data: {
    googleSubject: 'google-123',
    email: 'ada@example.com',
    userId: 'u-1',
    tokenHash,
    at,
    expiresAt: at + authorizationTtlDefaultMs,
  },
});
const revoked = (at: number): SessionEvent => ({ type: 'Revoked', data: { reason: 'user signed out', at } });
const codeExpired: SessionEvent = {
  type: 'Expired',
  data: { phase: 'code', expiresAt: codeDeadline, at: codeDeadline },
};

const signedIn = [codeIssued, consumed(t0 + 1000), authorized(t0 + 2000)] as const;

describe('Session decider', () => {
  it('names the stream after the session', () => {
    expect(sessionStream('abc')).toBe('session-abc');
  });

  describe('IssueCode', () => {
    it('issues a code that expires after 15 minutes by default', () => {
      const state = spec.when(issue()).then([codeIssued]);
      expect(state).toEqual({
        status: 'code_issued',
        codeHash,
        issuedAt: t0,
        expiresAt: codeDeadline,
        consumedAt: null,
      });
    });

    it('honours a shorter TTL and refuses one over the limit', () => {
      spec
        .when(issue({ ttlMs: 60_000 }))
        .then([{ ...codeIssued, data: { ...codeIssued.data, expiresAt: t0 + 60_000 } }]);
      spec
        .when(issue({ ttlMs: codeTtlMaxMs + 1 }))
        .thenFails((e) => e._tag === 'InvalidCommand' && e.problem === 'duration_too_long');
    });

    it('emits nothing when the same code is issued again (retry)', () => {
      spec.given([codeIssued]).when(issue({ at: t0 + 5 })).thenNothing();
    });

    it('refuses another code, or any code once the session moved on', () => {
      const other = issue({ codeHash: 'd'.repeat(64) });
      const whileWaiting = spec.given([codeIssued]).when(other).thenFails('SessionAlreadyExists');
      expect(whileWaiting).toEqual({ _tag: 'SessionAlreadyExists', status: 'code_issued' });
      const afterSignIn = spec.given(signedIn).when(issue()).thenFails('SessionAlreadyExists');
      expect(afterSignIn).toEqual({ _tag: 'SessionAlreadyExists', status: 'authorized' });
      spec.given([codeIssued, revoked(t0 + 1)]).when(issue()).thenFails('SessionAlreadyExists');
    });

    it.each([
      ['codeHash', { codeHash: 'C'.repeat(64) }, 'not_sha256_hex'],
      ['codeHash', { codeHash: 'c'.repeat(63) }, 'not_sha256_hex'],
      ['sessionId', { sessionId: ' ' }, 'empty'],
      ['sessionId', { sessionId: 'x'.repeat(201) }, 'too_long'],
      ['ttlMs', { ttlMs: 0 }, 'not_a_duration'],
      ['ttlMs', { ttlMs: 1.5 }, 'not_a_duration'],
      ['at', { at: -1 }, 'not_an_instant'],
      ['ttlMs', { at: 253_402_300_799_999 }, 'deadline_out_of_range'],
    ] as const)('refuses a bad %s (%j)', (field, overrides, problem) => {
      const error = spec.when(issue(overrides)).thenFails('InvalidCommand');
      expect(error).toEqual({ _tag: 'InvalidCommand', field, problem });
    });
  });

  describe('ConsumeCode', () => {
    it('spends the code once', () => {
      const state = spec.given([codeIssued]).when(consume(t0 + 1000)).then([consumed(t0 + 1000)]);
      expect(state).toMatchObject({ status: 'code_issued', consumedAt: t0 + 1000 });
    });

    it('refuses a second use, also after sign-in', () => {
      spec.given([codeIssued, consumed(t0 + 1)]).when(consume(t0 + 2)).thenFails('CodeAlreadyUsed');
      spec.given(signedIn).when(consume(t0 + 3000)).thenFails('CodeAlreadyUsed');
      spec.given([codeIssued, authorized(t0 + 1)]).when(consume(t0 + 2)).thenFails('CodeAlreadyUsed');
    });

    it('accepts the code until the last millisecond before its deadline', () => {
      spec.given([codeIssued]).when(consume(codeDeadline - 1)).then([consumed(codeDeadline - 1)]);
      const error = spec.given([codeIssued]).when(consume(codeDeadline)).thenFails('CodeExpired');
      expect(error).toEqual({ _tag: 'CodeExpired', expiresAt: codeDeadline });
    });

    it('refuses an unknown, revoked or expired session', () => {
      spec.when(consume(t0)).thenFails('SessionNotFound');
      spec.given([codeIssued, revoked(t0 + 1)]).when(consume(t0 + 2)).thenFails('SessionRevoked');
      spec.given([codeIssued, codeExpired]).when(consume(t0 + 2)).thenFails('SessionExpired');
    });
  });

  describe('Authorize', () => {
    it('signs in for 24 hours by default after the code was exchanged', () => {
      const state = spec
        .given([codeIssued, consumed(t0 + 1000)])
        .when(authorize(t0 + 2000))
        .then([authorized(t0 + 2000)]);
      expect(isActive(state, t0 + 2000)).toBe(true);
    });

    it('signs in straight from an issued code, recording a missing email as null', () => {
      const { email: _email, ...withoutEmail } = authorize(t0 + 5, { ttlMs: 60_000 }) as Authorize;
      const event = authorized(t0 + 5);
      spec
        .given([codeIssued])
        .when(withoutEmail)
        .then([{ ...event, data: { ...event.data, email: null, expiresAt: t0 + 5 + 60_000 } } as SessionEvent]);
    });

    it('refuses once the code deadline has passed', () => {
      spec.given([codeIssued, consumed(t0 + 1)]).when(authorize(codeDeadline)).thenFails('CodeExpired');
      spec.given([codeIssued]).when(authorize(codeDeadline - 1)).then([authorized(codeDeadline - 1)]);
    });

    it('emits nothing for the same sign-in repeated, and refuses a different one', () => {
      spec.given(signedIn).when(authorize(t0 + 9000)).thenNothing();
      spec.given(signedIn).when(authorize(t0 + 9000, { tokenHash: 'b'.repeat(64) })).thenFails('AlreadyAuthorized');
      spec.given(signedIn).when(authorize(t0 + 9000, { userId: 'u-2' })).thenFails('AlreadyAuthorized');
      spec.given(signedIn).when(authorize(t0 + 9000, { email: 'eve@example.com' })).thenFails('AlreadyAuthorized');
    });

    it('refuses an unknown, revoked or expired session', () => {
      spec.when(authorize(t0)).thenFails('SessionNotFound');
      const error = spec.given([codeIssued, revoked(t0 + 7)]).when(authorize(t0 + 8)).thenFails('SessionRevoked');
      expect(error).toEqual({ _tag: 'SessionRevoked', revokedAt: t0 + 7 });
      spec.given([codeIssued, codeExpired]).when(authorize(t0 + 8)).thenFails('SessionExpired');
    });

    it.each([
      ['googleSubject', { googleSubject: '' }, 'empty'],
      ['googleSubject', { googleSubject: 'g'.repeat(256) }, 'too_long'],
      ['email', { email: ' ' }, 'empty'],
      ['userId', { userId: 'u'.repeat(201) }, 'too_long'],
      ['tokenHash', { tokenHash: 'not-a-hash' }, 'not_sha256_hex'],
      ['ttlMs', { ttlMs: -5 }, 'not_a_duration'],
      ['ttlMs', { ttlMs: 31 * authorizationTtlDefaultMs }, 'duration_too_long'],
      ['at', { at: 1.25 }, 'not_an_instant'],
    ] as const)('refuses a bad %s (%j)', (field, overrides, problem) => {
      const error = spec.given([codeIssued]).when(authorize(t0 + 1, overrides)).thenFails('InvalidCommand');
      expect(error).toEqual({ _tag: 'InvalidCommand', field, problem });
    });
  });
});
