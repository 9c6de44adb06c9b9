import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { fold } from '../../../domain/shared/decider.js';
import {
  Action,
  PermissionsEvent,
  Role,
  actions,
  allowedActions,
  can,
  initialPermissions,
  permissionsDecider,
  rolePolicy,
  roles,
  type PermissionsEvent as Event,
} from '../../../domain/permissions/index.js';

const by = 'admin-1';
const at = 1_700_000_000_000;
const stateOf = (...events: readonly Event[]) => fold(permissionsDecider, events);
const withOnly = (role: (typeof roles)[number]) =>
  stateOf({ type: 'RoleRevoked', data: { role: 'user', by, at } }, { type: 'RoleAssigned', data: { role, by, at } });

describe('role policy', () => {
  it('gives a user with no history the default role and nothing else', () => {
    expect(initialPermissions).toEqual({ status: 'active', roles: ['user'], granted: [], revoked: [] });
    expect(allowedActions(initialPermissions)).toEqual(['llm:use', 'sora2:use', 'credits:deduct']);
  });

  it.each([
    ['user', ['llm:use', 'sora2:use', 'credits:deduct']],
    ['admin', ['llm:use', 'sora2:use', 'credits:deduct', 'credits:grant', 'credits:deduct-any', 'credits:read-any', 'roles:manage']],
    ['auditor', ['credits:read-any']],
    ['service', ['llm:use', 'credits:deduct', 'credits:deduct-any', 'credits:read-any']],
  ] as const)('role %s alone allows exactly %j', (role, expected) => {
    const allowed = allowedActions(withOnly(role));
    expect([...allowed].sort()).toEqual([...expected].sort());
    expect([...rolePolicy[role]].sort()).toEqual([...expected].sort());
  });

  it('unions the actions of every held role', () => {
    const state = stateOf({ type: 'RoleAssigned', data: { role: 'auditor', by, at } });
    expect(allowedActions(state)).toEqual(['llm:use', 'sora2:use', 'credits:deduct', 'credits:read-any']);
  });

  it('lets a suspended user do nothing, not even an admin with explicit grants', () => {
    const state = stateOf(
      { type: 'RoleAssigned', data: { role: 'admin', by, at } },
      { type: 'PermissionGranted', data: { action: 'llm:use', by, at } },
      { type: 'UserSuspended', data: { reason: 'fraud', by, at } },
    );
    for (const action of actions) expect(can(state, action)).toBe(false);
  });

  it('lets an explicit revocation win over every role that grants the action', () => {
    const state = stateOf(
      { type: 'RoleAssigned', data: { role: 'admin', by, at } },
      { type: 'RoleAssigned', data: { role: 'service', by, at } },
      { type: 'PermissionRevoked', data: { action: 'credits:deduct-any', by, at } },
    );
    expect(can(state, 'credits:deduct-any')).toBe(false);
    expect(can(state, 'credits:grant')).toBe(true);
  });

  it('keeps a revocation in force when a role granting the action is assigned later', () => {
    const state = stateOf(
      { type: 'PermissionRevoked', data: { action: 'roles:manage', by, at } },
      { type: 'RoleAssigned', data: { role: 'admin', by, at } },
    );
    expect(can(state, 'roles:manage')).toBe(false);
  });

  it('lets an explicit grant allow an action no role gives', () => {
    const state = stateOf({ type: 'PermissionGranted', data: { action: 'credits:read-any', by, at } });
    expect(can(state, 'credits:read-any')).toBe(true);
    expect(can(state, 'credits:grant')).toBe(false);
  });
});

describe('codecs', () => {
  it('list every action and role', () => {
    for (const action of actions) expect(Action.is(action)).toBe(true);
    for (const role of roles) expect(Role.is(role)).toBe(true);
    expect(Action.is('llm:abuse')).toBe(false);
    expect(Role.is('root')).toBe(false);
    expect(Action.is('toString')).toBe(false);
  });

  it('decode every event type after a JSON round trip', () => {
    const events: readonly Event[] = [
      { type: 'RoleAssigned', data: { role: 'admin', by, at } },
      { type: 'RoleRevoked', data: { role: 'user', by, at } },
      { type: 'PermissionGranted', data: { action: 'sora2:use', by, at } },
      { type: 'PermissionRevoked', data: { action: 'llm:use', by, at } },
      { type: 'UserSuspended', data: { reason: 'chargeback', by, at } },
      { type: 'UserUnsuspended', data: { by, at } },
    ];
    for (const event of events) {
      expect(PermissionsEvent.decode(JSON.parse(JSON.stringify(event)))).toEqual(E.right(event));
    }
  });

  it.each([
    ['an unknown type', { type: 'RoleDeleted', data: { role: 'admin', by, at } }],
    ['an unknown role', { type: 'RoleAssigned', data: { role: 'root', by, at } }],
    ['an unknown action', { type: 'PermissionGranted', data: { action: 'llm:*', by, at } }],
    ['a missing actor', { type: 'RoleAssigned', data: { role: 'admin', at } }],
    ['a blank actor', { type: 'RoleAssigned', data: { role: 'admin', by: ' ', at } }],
    ['a fractional instant', { type: 'UserUnsuspended', data: { by, at: 1.5 } }],
    ['an instant as a string', { type: 'UserUnsuspended', data: { by, at: '2024-01-01' } }],
    ['a blank suspension reason', { type: 'UserSuspended', data: { reason: '', by, at } }],
    ['no data', { type: 'UserUnsuspended' }],
    ['null', null],
  ])('reject %s', (_, raw) => {
    expect(E.isLeft(PermissionsEvent.decode(raw))).toBe(true);
  });
});
