import { describe, expect, it } from '@jest/globals';
import {
  can,
  permissionsDecider,
  permissionsStream,
  reasonMaxLength,
  actorMaxLength,
  type Action,
  type PermissionsCommand,
  type PermissionsEvent,
  type Role,
} from '../../../domain/permissions/index.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';

const spec = DeciderSpecification.for(permissionsDecider);
const by = 'admin-1';
const at = 1_700_000_000_000;

const assignRole = (role: Role): PermissionsCommand => ({ type: 'AssignRole', role, by, at });
const revokeRole = (role: Role): PermissionsCommand => ({ type: 'RevokeRole', role, by, at });
const grant = (action: Action): PermissionsCommand => ({ type: 'GrantPermission', action, by, at });
const revoke = (action: Action): PermissionsCommand => ({ type: 'RevokePermission', action, by, at });
const suspend = (reason: string): PermissionsCommand => ({ type: 'Suspend', reason, by, at });
const unsuspend: PermissionsCommand = { type: 'Unsuspend', by, at };

const roleAssigned = (role: Role): PermissionsEvent => ({ type: 'RoleAssigned', data: { role, by, at } });
const roleRevoked = (role: Role): PermissionsEvent => ({ type: 'RoleRevoked', data: { role, by, at } });
const granted = (action: Action): PermissionsEvent => ({ type: 'PermissionGranted', data: { action, by, at } });
const revoked = (action: Action): PermissionsEvent => ({ type: 'PermissionRevoked', data: { action, by, at } });
const suspended = (reason: string): PermissionsEvent => ({ type: 'UserSuspended', data: { reason, by, at } });
const unsuspended: PermissionsEvent = { type: 'UserUnsuspended', data: { by, at } };

describe('Permissions decider', () => {
  it('names the stream after the user', () => {
    expect(permissionsStream('u-42')).toBe('permissions-u-42');
  });

  describe('AssignRole', () => {
    it('records a role the user does not hold', () => {
      const state = spec.given([]).when(assignRole('admin')).then([roleAssigned('admin')]);
      expect(state.roles).toEqual(['user', 'admin']);
    });

    it('emits nothing for a role already held (idempotent repeat)', () => {
      spec.given([roleAssigned('auditor')]).when(assignRole('auditor')).thenNothing();
    });

    it("emits nothing for 'user' on a new stream: every user starts with it", () => {
      spec.when(assignRole('user')).thenNothing();
    });

    it('refuses a role outside the policy', () => {
      const error = spec.when({ type: 'AssignRole', role: 'root' as Role, by, at }).thenFails('UnknownRole');
      expect(error).toEqual({ _tag: 'UnknownRole', role: 'root' });
    });
  });

  describe('RevokeRole', () => {
    it('records the revocation of a held role', () => {
      spec.given([roleAssigned('service')]).when(revokeRole('service')).then([roleRevoked('service')]);
    });

    it('emits nothing for a role not held (idempotent)', () => {
      spec.when(revokeRole('admin')).thenNothing();
      spec.given([roleAssigned('admin'), roleRevoked('admin')]).when(revokeRole('admin')).thenNothing();
    });

    it("can take away the default 'user' role, leaving nothing allowed", () => {
      const state = spec.when(revokeRole('user')).then([roleRevoked('user')]);
      expect(can(state, 'llm:use')).toBe(false);
      expect(state.roles).toEqual([]);
    });

    it('refuses a role outside the policy', () => {
      spec.when({ type: 'RevokeRole', role: 'superuser' as Role, by, at }).thenFails('UnknownRole');
    });
  });

  describe('GrantPermission', () => {
    it('records an explicit grant', () => {
      const state = spec.when(grant('credits:grant')).then([granted('credits:grant')]);
      expect(can(state, 'credits:grant')).toBe(true);
    });

    it('emits nothing when the action is already explicitly granted', () => {
      spec.given([granted('roles:manage')]).when(grant('roles:manage')).thenNothing();
    });

    it('records a grant even when a role already allows the action, so it survives losing the role', () => {
      const state = spec.when(grant('llm:use')).then([granted('llm:use')]);
      const withoutRole = permissionsDecider.evolve(state, roleRevoked('user'));
      expect(can(withoutRole, 'llm:use')).toBe(true);
    });

    it('replaces an earlier explicit revocation', () => {
      const state = spec.given([revoked('sora2:use')]).when(grant('sora2:use')).then([granted('sora2:use')]);
      expect(state.revoked).toEqual([]);
      expect(state.granted).toEqual(['sora2:use']);
    });

    it('refuses an action outside the list', () => {
      const error = spec
        .when({ type: 'GrantPermission', action: 'llm:abuse' as Action, by, at })
        .thenFails('UnknownAction');
      expect(error).toEqual({ _tag: 'UnknownAction', action: 'llm:abuse' });
    });
  });

  describe('RevokePermission', () => {
    it('records an explicit revocation that wins over the role', () => {
      const state = spec.when(revoke('sora2:use')).then([revoked('sora2:use')]);
      expect(can(state, 'sora2:use')).toBe(false);
      expect(can(state, 'llm:use')).toBe(true);
    });

    it('emits nothing when the action is already explicitly revoked', () => {
      spec.given([revoked('llm:use')]).when(revoke('llm:use')).thenNothing();
    });

    it('replaces an earlier explicit grant', () => {
      const state = spec
        .given([granted('credits:grant')])
        .when(revoke('credits:grant'))
        .then([revoked('credits:grant')]);
      expect(state.granted).toEqual([]);
      expect(can(state, 'credits:grant')).toBe(false);
    });

    it('refuses an action outside the list', () => {
      spec.when({ type: 'RevokePermission', action: 'everything' as Action, by, at }).thenFails('UnknownAction');
    });
  });

  describe('Suspend and Unsuspend', () => {
    it('suspends with a reason, the actor and the instant', () => {
      const state = spec.when(suspend('chargeback')).then([suspended('chargeback')]);
      expect(state).toMatchObject({ status: 'suspended', reason: 'chargeback', since: at, by });
    });

    it('emits nothing when already suspended, and the first reason stands', () => {
      const state = spec.given([suspended('chargeback')]).when(suspend('abuse')).thenNothing();
      expect(state).toMatchObject({ status: 'suspended', reason: 'chargeback' });
    });

    it('lifts a suspension, keeping roles and explicit decisions', () => {
      const state = spec
        .given([roleAssigned('auditor'), revoked('sora2:use'), suspended('review')])
        .when(unsuspend)
        .then([unsuspended]);
      expect(state).toEqual({ status: 'active', roles: ['user', 'auditor'], granted: [], revoked: ['sora2:use'] });
    });

    it('emits nothing when unsuspending an active user', () => {
      spec.when(unsuspend).thenNothing();
      spec.given([suspended('x'), unsuspended]).when(unsuspend).thenNothing();
    });

    it('refuses a blank or overlong reason', () => {
      spec
        .when(suspend('   '))
        .thenFails((e) => e._tag === 'InvalidCommand' && e.field === 'reason' && e.problem === 'empty');
      spec
        .when(suspend('x'.repeat(reasonMaxLength + 1)))
        .thenFails((e) => e._tag === 'InvalidCommand' && e.problem === 'too_long');
      spec.when(suspend('x'.repeat(reasonMaxLength))).then([suspended('x'.repeat(reasonMaxLength))]);
    });
  });

  describe('fields every command carries', () => {
    const commands: readonly PermissionsCommand[] = [
      assignRole('admin'),
      revokeRole('user'),
      grant('llm:use'),
      revoke('llm:use'),
      suspend('r'),
      unsuspend,
    ];

    const cases = commands.map((c) => [c.type, c] as const);

    it.each(cases)('%s refuses a missing, blank or overlong actor', (_, command) => {
      for (const bad of ['', '  ', 'a'.repeat(actorMaxLength + 1), undefined]) {
        const error = spec.when({ ...command, by: bad as string }).thenFails('InvalidCommand');
        expect(error).toMatchObject({ field: 'by' });
      }
    });

    it.each(cases)('%s refuses an instant that is not a safe integer >= 0', (_, command) => {
      for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER, '2024-01-01']) {
        spec.when({ ...command, at: bad as number }).thenFails((e) => e._tag === 'InvalidCommand' && e.field === 'at');
      }
    });
  });
});
