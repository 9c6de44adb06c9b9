import type { Instant } from '../shared/decider.js';
import type { Action, Role } from './policy.js';

/**
 * Commands for one user's Permissions stream. Who acts (`by`) and when (`at`)
 * arrive as data. Whether the actor may change permissions at all is checked
 * by the application against the actor's own stream (`roles:manage`); this
 * decider only says what the change means for the target user. Roles and
 * actions are typed, but `decide` checks them again because the command may
 * have been built from input that was never decoded.
 */
type Change = { readonly by: string; readonly at: Instant };

export type AssignRole = Change & { readonly type: 'AssignRole'; readonly role: Role };
export type RevokeRole = Change & { readonly type: 'RevokeRole'; readonly role: Role };
export type GrantPermission = Change & { readonly type: 'GrantPermission'; readonly action: Action };
export type RevokePermission = Change & { readonly type: 'RevokePermission'; readonly action: Action };
export type Suspend = Change & { readonly type: 'Suspend'; readonly reason: string };
export type Unsuspend = Change & { readonly type: 'Unsuspend' };

export type PermissionsCommand = AssignRole | RevokeRole | GrantPermission | RevokePermission | Suspend | Unsuspend;
