import * as E from 'fp-ts/lib/Either.js';
import { absurd } from '../shared/decider.js';
import type { PermissionsCommand } from './commands.js';
import type { PermissionsError } from './errors.js';
import type { PermissionsEvent } from './events.js';
import { actorMaxLength, isInstant, reasonMaxLength, textProblem } from './fields.js';
import { Action, Role } from './policy.js';
import type { PermissionsState } from './state.js';

type Decision = E.Either<PermissionsError, readonly PermissionsEvent[]>;

const nothing: Decision = E.right([]);
const emit = (event: PermissionsEvent): Decision => E.right([event]);

const invalid = (
  field: Extract<PermissionsError, { _tag: 'InvalidCommand' }>['field'],
  problem: Extract<PermissionsError, { _tag: 'InvalidCommand' }>['problem'],
): PermissionsError => ({ _tag: 'InvalidCommand', field, problem });

/** Checks what every command carries, and what only some carry, before any rule runs. */
const validate = (command: PermissionsCommand): PermissionsError | undefined => {
  const byProblem = textProblem(command.by, actorMaxLength);
  if (byProblem !== undefined) return invalid('by', byProblem);
  if (!isInstant(command.at)) return invalid('at', 'not_an_instant');
  switch (command.type) {
    case 'AssignRole':
    case 'RevokeRole':
      return Role.is(command.role) ? undefined : { _tag: 'UnknownRole', role: String(command.role) };
    case 'GrantPermission':
    case 'RevokePermission':
      return Action.is(command.action) ? undefined : { _tag: 'UnknownAction', action: String(command.action) };
    case 'Suspend': {
      const reasonProblem = textProblem(command.reason, reasonMaxLength);
      return reasonProblem === undefined ? undefined : invalid('reason', reasonProblem);
    }
    case 'Unsuspend':
      return undefined;
    default:
      return absurd(command);
  }
};

/**
 * Every command is idempotent: when the user already is where the command
 * would take them, it succeeds with no events. That makes retries after a
 * lost reply safe and keeps the history free of changes that changed nothing.
 * A repeated Suspend keeps the first reason; to change it, unsuspend and
 * suspend again, so the history shows both.
 */
export const decidePermissions = (command: PermissionsCommand, state: PermissionsState): Decision => {
  const problem = validate(command);
  if (problem !== undefined) return E.left(problem);
  const { by, at } = command;
  switch (command.type) {
    case 'AssignRole':
      return state.roles.includes(command.role)
        ? nothing
        : emit({ type: 'RoleAssigned', data: { role: command.role, by, at } });
    case 'RevokeRole':
      return state.roles.includes(command.role)
        ? emit({ type: 'RoleRevoked', data: { role: command.role, by, at } })
        : nothing;
    case 'GrantPermission':
      return state.granted.includes(command.action)
        ? nothing
        : emit({ type: 'PermissionGranted', data: { action: command.action, by, at } });
    case 'RevokePermission':
      return state.revoked.includes(command.action)
        ? nothing
        : emit({ type: 'PermissionRevoked', data: { action: command.action, by, at } });
    case 'Suspend':
      return state.status === 'suspended'
        ? nothing
        : emit({ type: 'UserSuspended', data: { reason: command.reason, by, at } });
    case 'Unsuspend':
      return state.status === 'suspended' ? emit({ type: 'UserUnsuspended', data: { by, at } }) : nothing;
    default:
      return absurd(command);
  }
};
