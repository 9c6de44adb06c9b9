import * as E from 'fp-ts/lib/Either.js';
import type { Action, PermissionsCommand, PermissionsError, PermissionsEvent, PermissionsState, Role } from '../../domain/permissions/index.js';
import { allowedActions, can, PermissionsEvent as EventCodec, permissionsDecider, permissionsStream } from '../../domain/permissions/index.js';
import type { HandlerOptions } from '../commandHandler.js';
import { makeCommandHandler } from '../commandHandler.js';
import type { Clock, Ids } from '../ports/clock.js';
import type { EventStore, RecordedEvent } from '../ports/eventStore.js';

/**
 * Roles and per-service permissions of users, event-sourced in
 * `permissions-<userId>`. Whether the *actor* may change someone's
 * permissions is checked here (roles:manage), except for operators at the CLI,
 * who act on the store directly and are recorded as `cli:<user>`.
 */
export type Forbidden = { readonly _tag: 'Forbidden'; readonly action: Action; readonly userId: string };
export type AccessError = PermissionsError | Forbidden;

export const decodePermissionsEvent = (recorded: RecordedEvent): PermissionsEvent | undefined => {
  const decoded = EventCodec.decode({ type: recorded.type, data: recorded.data });
  return E.isRight(decoded) ? decoded.right : undefined;
};

type Change =
  | { readonly type: 'AssignRole' | 'RevokeRole'; readonly role: Role }
  | { readonly type: 'GrantPermission' | 'RevokePermission'; readonly action: Action }
  | { readonly type: 'Suspend'; readonly reason: string }
  | { readonly type: 'Unsuspend' };

export const makeAccessControl = (deps: { store: EventStore; clock: Clock; ids: Ids; handlerOptions?: HandlerOptions }) => {
  const handler = makeCommandHandler({
    store: deps.store,
    decider: permissionsDecider,
    decode: decodePermissionsEvent,
    clock: deps.clock,
    ids: deps.ids,
    ...(deps.handlerOptions === undefined ? {} : { options: deps.handlerOptions }),
  });

  const load = async (userId: string) => handler.load(permissionsStream(userId));

  /** The permission check every spending path runs: the answer and the stream revision it was made against. */
  const check = async (userId: string, action: Action) => {
    const view = await load(userId);
    return { allowed: can(view.state, action), revision: view.revision, state: view.state };
  };

  const change = async (
    target: string,
    by: { readonly userId: string; readonly trusted: boolean },
    command: Change,
  ): Promise<E.Either<AccessError, { readonly state: PermissionsState; readonly changed: boolean }>> => {
    if (!by.trusted) {
      const actor = await check(by.userId, 'roles:manage');
      if (!actor.allowed) return E.left({ _tag: 'Forbidden', action: 'roles:manage', userId: by.userId });
    }
    const full = { ...command, by: by.userId, at: deps.clock.now() } as PermissionsCommand;
    const result = await handler.handle(permissionsStream(target), full);
    if (E.isLeft(result)) return result;
    return E.right({ state: result.right.state, changed: result.right.events.length > 0 });
  };

  return {
    check,
    /** Roles, explicit decisions and effective actions of a user, for the API and the CLI. */
    describe: async (userId: string) => {
      const view = await load(userId);
      return { userId, status: view.state.status, roles: view.state.roles, actions: allowedActions(view.state), revision: view.revision };
    },
    change,
  };
};

export type AccessControl = ReturnType<typeof makeAccessControl>;
