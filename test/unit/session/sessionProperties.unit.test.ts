import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { fold } from '../../../domain/shared/decider.js';
import {
  SessionEvent,
  isActive,
  sessionDecider,
  type SessionCommand,
  type SessionState,
} from '../../../domain/session/index.js';

/** Properties of the sign-in lifecycle over any sequence of commands at any instants. */

const t0 = 1_700_000_000_000;
const dayMs = 86_400_000;
// Half the instants fall in the first 20 minutes, so sign-ins before the code deadline are common;
// the rest spread over two days, so both deadlines are crossed often too.
const at = fc.oneof(fc.integer({ min: t0, max: t0 + 20 * 60_000 }), fc.integer({ min: t0, max: t0 + 2 * dayMs }));
const hash = fc.constantFrom('a'.repeat(64), 'b'.repeat(64));
const reason = fc.constantFrom('signed out', 'bad code', '');

const issueCode: fc.Arbitrary<SessionCommand> = fc.record({
  type: fc.constant('IssueCode' as const),
  sessionId: fc.constant('s-1'),
  codeHash: hash,
  at,
});

const command: fc.Arbitrary<SessionCommand> = fc.oneof(
  issueCode,
  fc.record({ type: fc.constant('ConsumeCode' as const), at }),
  fc.record(
    {
      type: fc.constant('Authorize' as const),
      googleSubject: fc.constantFrom('g-1', 'g-2'),
      userId: fc.constantFrom('u-1', 'u-2'),
      tokenHash: hash,
      at,
      ttlMs: fc.integer({ min: 1, max: dayMs }),
    },
    { requiredKeys: ['type', 'googleSubject', 'userId', 'tokenHash', 'at'] },
  ),
  fc.record({ type: fc.constant('Revoke' as const), reason, at }),
  fc.record({ type: fc.constant('MarkExpired' as const), at }),
  fc.record({ type: fc.constant('RecordFailedAttempt' as const), reason, at }),
);

type Run = { state: SessionState; events: SessionEvent[] };

const run = (commands: readonly SessionCommand[]): Run => {
  const result: Run = { state: sessionDecider.initialState, events: [] };
  for (const c of commands) {
    const decision = sessionDecider.decide(c, result.state);
    if (E.isLeft(decision)) continue;
    for (const event of decision.right) {
      result.events.push(event);
      result.state = sessionDecider.evolve(result.state, event);
    }
  }
  return result;
};

const settings = { numRuns: 300 };
// Two runs in three start with a code, so most runs get past 'none'.
const commands = fc
  .tuple(fc.option(issueCode, { freq: 3 }), fc.array(command, { maxLength: 30 }))
  .map(([first, rest]) => (first === null ? rest : [first, ...rest]));

describe('Session properties', () => {
  it('replaying the stored (JSON, decoded) events reproduces the live state', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        const { state, events } = run(cs);
        const decoded = events.map((e) => {
          const d = SessionEvent.decode(JSON.parse(JSON.stringify(e)));
          if (E.isLeft(d)) throw new Error(`emitted event does not decode: ${JSON.stringify(e)}`);
          return d.right;
        });
        expect(fold(sessionDecider, decoded)).toEqual(state);
      }),
      settings,
    );
  });

  it('issues at most one code, signs in at most once, and only before the code deadline', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        const { events } = run(cs);
        const issued = events.filter((e) => e.type === 'CodeIssued');
        const authorized = events.filter((e) => e.type === 'Authorized');
        expect(issued.length).toBeLessThanOrEqual(1);
        expect(authorized.length).toBeLessThanOrEqual(1);
        expect(events.filter((e) => e.type === 'CodeConsumed').length).toBeLessThanOrEqual(1);
        const code = issued[0];
        for (const a of authorized) {
          expect(code).toBeDefined();
          if (code !== undefined) expect(a.data.at).toBeLessThan(code.data.expiresAt);
        }
      }),
      settings,
    );
  });

  it('nothing but failed attempts follows the end of a session', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        const { events } = run(cs);
        const end = events.findIndex((e) => e.type === 'Revoked' || e.type === 'Expired');
        if (end < 0) return;
        expect(events.slice(end + 1).every((e) => e.type === 'AuthAttemptFailed')).toBe(true);
      }),
      settings,
    );
  });

  it('a session is active only when signed in and before that sign-in deadline', () => {
    fc.assert(
      fc.property(commands, at, (cs, now) => {
        const { state, events } = run(cs);
        const signIn = events.find((e) => e.type === 'Authorized');
        const expected = state.status === 'authorized' && signIn !== undefined && now < signIn.data.expiresAt;
        expect(isActive(state, now)).toBe(expected);
      }),
      settings,
    );
  });
});
