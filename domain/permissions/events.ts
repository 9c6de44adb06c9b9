import * as t from 'io-ts';
import { eventCodec } from '../shared/fields.js';
import { ActorCodec, InstantCodec, ReasonCodec } from './fields.js';
import { Action, Role } from './policy.js';

/**
 * Events of the Permissions stream (`permissions-<userId>`). Each records who
 * (`by`, an actor user id) changed what and when (`at`, ms since the epoch),
 * which is what an auditor asks first. The codecs decode what a store hands
 * back: an unknown role or action, or a malformed field, is rejected instead
 * of silently granting or denying something.
 */

const event = eventCodec;

const change = { by: ActorCodec, at: InstantCodec };

export const RoleAssigned = event('RoleAssigned', t.type({ role: Role, ...change }));
export const RoleRevoked = event('RoleRevoked', t.type({ role: Role, ...change }));
export const PermissionGranted = event('PermissionGranted', t.type({ action: Action, ...change }));
export const PermissionRevoked = event('PermissionRevoked', t.type({ action: Action, ...change }));
export const UserSuspended = event('UserSuspended', t.type({ reason: ReasonCodec, ...change }));
export const UserUnsuspended = event('UserUnsuspended', t.type(change));

export const PermissionsEvent = t.union(
  [RoleAssigned, RoleRevoked, PermissionGranted, PermissionRevoked, UserSuspended, UserUnsuspended],
  'PermissionsEvent',
);

export type RoleAssigned = t.TypeOf<typeof RoleAssigned>;
export type RoleRevoked = t.TypeOf<typeof RoleRevoked>;
export type PermissionGranted = t.TypeOf<typeof PermissionGranted>;
export type PermissionRevoked = t.TypeOf<typeof PermissionRevoked>;
export type UserSuspended = t.TypeOf<typeof UserSuspended>;
export type UserUnsuspended = t.TypeOf<typeof UserUnsuspended>;
export type PermissionsEvent = t.TypeOf<typeof PermissionsEvent>;
export type PermissionsEventType = PermissionsEvent['type'];
