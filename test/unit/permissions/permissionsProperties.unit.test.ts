import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { fold } from '../../../domain/shared/decider.js';
import {
  PermissionsEvent,
  actions,
  can,
  permissionsDecider,
  rolePolicy,
  roles,
  type Action,
  type PermissionsCommand,
  type PermissionsState,
  type Role,
} from '../../../domain/permissions/index.js';

/**
 * Properties over any sequence of commands, checked against a reference model
 * written independently of the decider: a set of roles, the last explicit
 * decision per action, and a suspended flag.
 */

const actor = fc.constantFrom('admin-1', 'admin-2', 'svc');
const instant = fc.integer({ min: 0, max: 4_102_444_800_000 });
const change = { by: actor, at: instant };

// Mostly valid commands, plus the odd invalid one, so refusals are exercised in sequences too.
const command: fc.Arbitrary<PermissionsCommand> = fc.oneof(
  fc.record({ type: fc.constant('AssignRole' as const), role: fc.constantFrom(...roles), ...change }),
  fc.record({ type: fc.constant('RevokeRole' as const), role: fc.constantFrom(...roles), ...change }),
  fc.record({ type: fc.constant('GrantPermission' as const), action: fc.constantFrom(...actions), ...change }),
  fc.record({ type: fc.constant('RevokePermission' as const), action: fc.constantFrom(...actions), ...change }),
  fc.record({ type: fc.constant('Suspend' as const), reason: fc.constantFrom('fraud', 'review', ' '), ...change }),
  fc.record({ type: fc.constant('Unsuspend' as const), ...change }),
  fc.record({ type: fc.constant('AssignRole' as const), role: fc.constant('root' as Role), ...change }),
  fc.record({
    type: fc.constant('GrantPermission' as const),
    action: fc.constant('x:y' as Action),
    by: fc.constant(''),
    at: instant,
  }),
);

type Model = { roles: Set<Role>; decisions: Map<Action, 'grant' | 'revoke'>; suspended: boolean };

const validCommand = (c: PermissionsCommand): boolean =>
  c.by !== '' &&
  !(c.type === 'AssignRole' && c.role === ('root' as Role)) &&
  !(c.type === 'Suspend' && c.reason.trim() === '');

const applyToModel = (model: Model, c: PermissionsCommand): void => {
  if (!validCommand(c)) return;
  if (c.type === 'AssignRole') model.roles.add(c.role);
  if (c.type === 'RevokeRole') model.roles.delete(c.role);
  if (c.type === 'GrantPermission') model.decisions.set(c.action, 'grant');
  if (c.type === 'RevokePermission') model.decisions.set(c.action, 'revoke');
  if (c.type === 'Suspend') model.suspended = true;
  if (c.type === 'Unsuspend') model.suspended = false;
};

const modelCan = (model: Model, action: Action): boolean => {
  if (model.suspended) return false;
  const decision = model.decisions.get(action);
  if (decision !== undefined) return decision === 'grant';
  return [...model.roles].some((role) => rolePolicy[role].includes(action));
};

type Run = { state: PermissionsState; events: unknown[] };

/** What the application does: decide on the current state, keep the events, evolve. */
const step = (run: Run, c: PermissionsCommand): readonly PermissionsEvent[] | undefined => {
  const result = permissionsDecider.decide(c, run.state);
  if (E.isLeft(result)) return undefined;
  for (const event of result.right) {
    run.events.push(JSON.parse(JSON.stringify(event)));
    run.state = permissionsDecider.evolve(run.state, event);
  }
  return result.right;
};

const decodeAll = (raw: readonly unknown[]): PermissionsEvent[] =>
  raw.map((r) => {
    const decoded = PermissionsEvent.decode(r);
    if (E.isLeft(decoded)) throw new Error(`emitted event does not decode: ${JSON.stringify(r)}`);
    return decoded.right;
  });

const settings = { numRuns: 300 };

describe('Permissions properties', () => {
  it('replaying the stored (JSON, decoded) events reproduces the live state', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const run: Run = { state: permissionsDecider.initialState, events: [] };
        for (const c of commands) step(run, c);
        expect(fold(permissionsDecider, decodeAll(run.events))).toEqual(run.state);
      }),
      settings,
    );
  });

  it('agrees with the reference model on every action after every command', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const run: Run = { state: permissionsDecider.initialState, events: [] };
        const model: Model = { roles: new Set(['user']), decisions: new Map(), suspended: false };
        for (const c of commands) {
          const emitted = step(run, c);
          expect(emitted !== undefined).toBe(validCommand(c));
          applyToModel(model, c);
          for (const action of actions) expect(can(run.state, action)).toBe(modelCan(model, action));
        }
      }),
      settings,
    );
  });

  it('a suspended user can do nothing, whatever was assigned or granted before or after', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), fc.array(command, { maxLength: 30 }), (before, after) => {
        const run: Run = { state: permissionsDecider.initialState, events: [] };
        for (const c of before) step(run, c);
        step(run, { type: 'Suspend', reason: 'property', by: 'admin-1', at: 0 });
        for (const c of after.filter((c) => c.type !== 'Unsuspend')) step(run, c);
        expect(run.state.status).toBe('suspended');
        for (const action of actions) expect(can(run.state, action)).toBe(false);
      }),
      settings,
    );
  });

  it('repeating any accepted command right away emits nothing', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), command, (history, c) => {
        const run: Run = { state: permissionsDecider.initialState, events: [] };
        for (const h of history) step(run, h);
        if (step(run, c) === undefined) return;
        expect(permissionsDecider.decide(c, run.state)).toEqual(E.right([]));
      }),
      settings,
    );
  });
});
