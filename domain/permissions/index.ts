import type { Decider } from '../shared/decider.js';
import type { PermissionsCommand } from './commands.js';
import { decidePermissions } from './decide.js';
import type { PermissionsError } from './errors.js';
import type { PermissionsEvent } from './events.js';
import { evolvePermissions, initialPermissions, type PermissionsState } from './state.js';

/**
 * The Permissions aggregate: one stream per user holding roles, explicit
 * per-action grants and revocations, and suspension. Ask `can(state, action)`.
 */
export const permissionsDecider: Decider<PermissionsCommand, PermissionsEvent, PermissionsState, PermissionsError> = {
  decide: decidePermissions,
  evolve: evolvePermissions,
  initialState: initialPermissions,
};

export const permissionsStreamPrefix = 'permissions-';
export const permissionsStream = (userId: string): string => `${permissionsStreamPrefix}${userId}`;

export type * from './commands.js';
export type { PermissionsError } from './errors.js';
export * from './events.js';
export { actorMaxLength, reasonMaxLength } from './fields.js';
export * from './policy.js';
export * from './state.js';
