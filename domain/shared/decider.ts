import type * as E from 'fp-ts/lib/Either.js';

/**
 * An aggregate as a decider (Chassaing / Emmett): pure functions over plain
 * data. `decide` says what happened or why not; `evolve` folds what happened.
 */
export interface Decider<Command, Event, State, Err> {
  readonly decide: (command: Command, state: State) => E.Either<Err, readonly Event[]>;
  readonly evolve: (state: State, event: Event) => State;
  readonly initialState: State;
}

/** Replays events onto the initial state. */
export const fold = <Command, Event, State, Err>(
  decider: Decider<Command, Event, State, Err>,
  events: Iterable<Event>,
  from: State = decider.initialState,
): State => {
  let state = from;
  for (const event of events) state = decider.evolve(state, event);
  return state;
};

/** Compile-time exhaustiveness check for switches over tagged unions. */
export const absurd = (value: never): never => {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
};

/** An instant as milliseconds since the Unix epoch; time enters the domain only as data. */
export type Instant = number;
