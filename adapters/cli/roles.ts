import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { makeAccessControl } from '../../application/permissions/access.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import { Role } from '../../domain/permissions/index.js';
import { systemClock, systemIds } from '../system/clockAndIds.js';
import type { Parsed } from './args.js';
import { positional, UsageError } from './args.js';
import type { Io } from './args.js';

/** `ledger roles assign|revoke|show <user> [role]`: operators act directly on the store, recorded as cli:<user>. */
export const runRoles = async (p: Parsed, store: EventStore, io: Io, json: boolean): Promise<number> => {
  const verb = positional(p, 0, 'assign|revoke|show');
  const userId = positional(p, 1, 'user');
  const access = makeAccessControl({ store, clock: systemClock, ids: systemIds });
  if (verb === 'show') {
    const d = await access.describe(userId);
    io.out(json ? JSON.stringify({ ok: true, ...d }) : `${userId}: ${d.status}; roles ${d.roles.join(', ')}; may ${d.actions.join(', ')}`);
    return 0;
  }
  if (verb !== 'assign' && verb !== 'revoke') throw new UsageError(`roles takes assign, revoke or show, not "${verb}"`);
  const rawRole = positional(p, 2, 'role');
  const role = Role.decode(rawRole);
  if (E.isLeft(role)) throw new UsageError(`unknown role "${rawRole}"; roles are ${Object.keys((Role as t.KeyofC<Record<string, unknown>>).keys).join(', ')}`);
  const by = { userId: io.env['USER'] ? `cli:${io.env['USER']}` : 'cli', trusted: true };
  const result = await access.change(userId, by, { type: verb === 'assign' ? 'AssignRole' : 'RevokeRole', role: role.right });
  if (E.isLeft(result)) {
    io.err(`refused: ${result.left._tag}`);
    return 1;
  }
  const roles = result.right.state.roles.join(', ');
  io.out(json ? JSON.stringify({ ok: true, userId, roles: result.right.state.roles, changed: result.right.changed }) : `${userId}: roles ${roles}${result.right.changed ? '' : ' (unchanged)'}`);
  return 0;
};
