import { absurd, type Instant } from '../shared/decider.js';
import type { PermissionsEvent } from './events.js';
import { actions, defaultRoles, rolePolicy, roles, type Action, type Role } from './policy.js';

/**
 * What one user holds. `granted` and `revoked` are explicit per-action
 * decisions layered over the roles; an action is never in both, because each
 * decision replaces the previous one for that action. Lists are kept in the
 * canonical order of `roles` / `actions`, so two histories that lead to the
 * same permissions lead to equal states.
 */
type Holdings = {
  readonly roles: readonly Role[];
  readonly granted: readonly Action[];
  readonly revoked: readonly Action[];
};

export type ActivePermissions = Holdings & { readonly status: 'active' };
export type SuspendedPermissions = Holdings & {
  readonly status: 'suspended';
  readonly reason: string;
  readonly since: Instant;
  readonly by: string;
};
/** Suspension data exists only on a suspended user, so it cannot be stale. */
export type PermissionsState = ActivePermissions | SuspendedPermissions;

export const initialPermissions: PermissionsState = {
  status: 'active',
  roles: defaultRoles,
  granted: [],
  revoked: [],
};

const withItem = <T>(order: readonly T[], list: readonly T[], item: T): readonly T[] =>
  list.includes(item) ? list : order.filter((x) => x === item || list.includes(x));

const withoutItem = <T>(list: readonly T[], item: T): readonly T[] =>
  list.includes(item) ? list.filter((x) => x !== item) : list;

const holdings = (state: PermissionsState): Holdings => ({
  roles: state.roles,
  granted: state.granted,
  revoked: state.revoked,
});

export const evolvePermissions = (state: PermissionsState, event: PermissionsEvent): PermissionsState => {
  switch (event.type) {
    case 'RoleAssigned':
      return { ...state, roles: withItem(roles, state.roles, event.data.role) };
    case 'RoleRevoked':
      return { ...state, roles: withoutItem(state.roles, event.data.role) };
    case 'PermissionGranted':
      return {
        ...state,
        granted: withItem(actions, state.granted, event.data.action),
        revoked: withoutItem(state.revoked, event.data.action),
      };
    case 'PermissionRevoked':
      return {
        ...state,
        granted: withoutItem(state.granted, event.data.action),
        revoked: withItem(actions, state.revoked, event.data.action),
      };
    case 'UserSuspended': {
      const { reason, at, by } = event.data;
      return { ...holdings(state), status: 'suspended', reason, since: at, by };
    }
    case 'UserUnsuspended':
      return { ...holdings(state), status: 'active' };
    default:
      return absurd(event);
  }
};

/**
 * May this user perform `action` now? Precedence, first match wins:
 * 1. a suspended user may do nothing, whatever they hold;
 * 2. an explicit revocation of the action denies it, even if a role allows it;
 * 3. an explicit grant of the action allows it, even if no role does;
 * 4. otherwise the action is allowed when any held role's policy lists it.
 * Rules 2 and 3 never conflict: the latest explicit decision replaces the
 * earlier one.
 */
export const can = (state: PermissionsState, action: Action): boolean => {
  if (state.status === 'suspended') return false;
  if (state.revoked.includes(action)) return false;
  if (state.granted.includes(action)) return true;
  return state.roles.some((role) => rolePolicy[role].includes(action));
};

/** Every action `can` allows, in canonical order: what an API or the CLI shows. */
export const allowedActions = (state: PermissionsState): readonly Action[] =>
  actions.filter((action) => can(state, action));
