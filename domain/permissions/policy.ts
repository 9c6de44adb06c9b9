import * as t from 'io-ts';

/**
 * The role policy as plain data: which service actions each role allows.
 * Changing who may do what is a change to this table, reviewed like code,
 * never a branch hidden in a use case.
 */

/** Every action a permission check can ask about, in a fixed order. */
export const actions = [
  'llm:use',
  'sora2:use',
  'credits:deduct',
  'credits:grant',
  'credits:deduct-any',
  'credits:read-any',
  'roles:manage',
] as const;
export type Action = (typeof actions)[number];

/** Every role, in a fixed order. */
export const roles = ['user', 'admin', 'auditor', 'service'] as const;
export type Role = (typeof roles)[number];

const keysOf = <K extends string>(keys: readonly K[]): Record<K, null> =>
  Object.fromEntries(keys.map((key) => [key, null])) as Record<K, null>;

/** Decodes an action name from outside (a request, a stored event); anything else is rejected. */
export const Action = t.keyof(keysOf(actions), 'Action');
export const Role = t.keyof(keysOf(roles), 'Role');

export const rolePolicy: { readonly [R in Role]: readonly Action[] } = {
  // What every new user may do: spend their own credits on the models and deduct them over REST.
  // A user whose roles were all revoked can do none of it (issue 11).
  user: ['llm:use', 'sora2:use', 'credits:deduct'],
  admin: actions,
  // Auditors read every account and change nothing.
  auditor: ['credits:read-any'],
  // The gateway's own identity: it meters other users' requests.
  service: ['credits:deduct', 'credits:deduct-any', 'credits:read-any', 'llm:use'],
};

/** The roles a user holds before any event: a stream with no history is an ordinary user. */
export const defaultRoles: readonly Role[] = ['user'];
