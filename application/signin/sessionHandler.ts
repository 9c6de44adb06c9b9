import * as E from 'fp-ts/lib/Either.js';
import type { SessionCommand, SessionError, SessionState } from '../../domain/session/index.js';
import { SessionEvent, sessionDecider } from '../../domain/session/index.js';
import type { CommandHandler, HandlerOptions } from '../commandHandler.js';
import { makeCommandHandler } from '../commandHandler.js';
import type { Clock, Ids } from '../ports/clock.js';
import type { EventStore, RecordedEvent } from '../ports/eventStore.js';

/** Load, decide, append for `session-<id>` streams. */
export type SessionHandler = CommandHandler<SessionCommand, SessionEvent, SessionState, SessionError>;

export const decodeSessionEvent = (recorded: RecordedEvent): SessionEvent | undefined => {
  const decoded = SessionEvent.decode({ type: recorded.type, data: recorded.data });
  return E.isRight(decoded) ? decoded.right : undefined;
};

export const makeSessionHandler = (deps: {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly handlerOptions?: HandlerOptions;
}): SessionHandler =>
  makeCommandHandler({
    store: deps.store,
    decider: sessionDecider,
    decode: decodeSessionEvent,
    clock: deps.clock,
    ids: deps.ids,
    ...(deps.handlerOptions === undefined ? {} : { options: deps.handlerOptions }),
  });
