import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../../domain/shared/decider.js';

/**
 * Given/when/then specifications for any `Decider`:
 *
 *   const spec = DeciderSpecification.for(permissionsDecider);
 *   spec.given([roleAssigned]).when(assignRole).thenNothing();
 *   spec.given([]).when(command).then([event]);
 *   spec.when(badCommand).thenFails('UnknownRole');
 *
 * `given` folds the events with the decider's own `evolve`, `when` runs
 * `decide`, and each `then*` checks the outcome. Failures print the history,
 * the command and a diff, so a red test says what the rule was.
 *
 * The events, the command and every state handed to `decide` are deep-frozen:
 * a decider that mutates its inputs throws here (ES modules run in strict
 * mode) instead of passing by luck.
 */

/** The `_tag`s of an error union, so `thenFails('X')` is checked by the compiler. */
export type ErrorTag<Err> = Err extends { readonly _tag: infer T extends string } ? T : never;

/** Either an error's `_tag` or a predicate over the error. */
export type ErrorExpectation<Err> = ErrorTag<Err> | ((error: Err) => boolean);

export type ThenStage<Event, State, Err> = {
  /** Expects exactly these events, in order; returns the state after them. */
  readonly then: (expected: readonly Event[]) => State;
  /** Expects a rejection matching the tag or predicate; returns the error for further checks. */
  readonly thenFails: (expected: ErrorExpectation<Err>) => Err;
  /** Expects success with no events (an idempotent repeat or a no-op); returns the unchanged state. */
  readonly thenNothing: () => State;
};

export type WhenStage<Command, Event, State, Err> = {
  readonly when: (command: Command) => ThenStage<Event, State, Err>;
};

export type Specification<Command, Event, State, Err> = WhenStage<Command, Event, State, Err> & {
  readonly given: (events: readonly Event[]) => WhenStage<Command, Event, State, Err>;
};

const show = (value: unknown): string =>
  inspect(value, { depth: Infinity, breakLength: 100, compact: 3, sorted: false });

const indent = (text: string): string =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
};

const describeScenario = (events: readonly unknown[], command: unknown): string => {
  const given = events.length === 0 ? '    (no events)' : events.map((e) => indent(`- ${show(e)}`)).join('\n');
  return `Given:\n${given}\nWhen:\n${indent(show(command))}`;
};

const describeExpectation = (expected: ErrorExpectation<unknown>): string =>
  typeof expected === 'string' ? `'${expected}'` : `an error matching ${expected.name || 'the predicate'}`;

const matches = <Err>(error: Err, expected: ErrorExpectation<Err>): boolean => {
  if (typeof expected === 'function') return expected(error);
  return typeof error === 'object' && error !== null && (error as { _tag?: unknown })._tag === expected;
};

/**
 * Throws a plain Error (jest renders assert's AssertionError as an empty
 * expected/received pair) whose stack starts at the test's `then*` call, so
 * the code frame shows the failing specification, not this helper.
 */
const fail = (headline: string, detail: string, scenario: string, from: (...args: never[]) => unknown): never => {
  const error = new Error(`${headline}\n${detail}\n\n${scenario}`);
  error.name = 'DeciderSpecificationError';
  Error.captureStackTrace(error, from);
  throw error;
};

const thenStage = <Command, Event, State, Err>(
  decider: Decider<Command, Event, State, Err>,
  history: readonly Event[],
  state: State,
  command: Command,
): ThenStage<Event, State, Err> => {
  const scenario = describeScenario(history, command);
  const outcome = (): E.Either<Err, readonly Event[]> => {
    try {
      return decider.decide(command, state);
    } catch (cause) {
      // A decider reports business outcomes as Left; a throw is a bug, so keep the scenario with it.
      throw new Error(`decide threw instead of returning Either\n\n${scenario}`, { cause });
    }
  };
  const expectSuccess = (from: (...args: never[]) => unknown): readonly Event[] => {
    const result = outcome();
    if (E.isLeft(result)) {
      return fail('Expected success, but decide failed with:', indent(show(result.left)), scenario, from);
    }
    return result.right;
  };

  const then = (expected: readonly Event[]): State => {
    const events = expectSuccess(then);
    try {
      assert.deepStrictEqual(events, expected);
    } catch (error) {
      if (!(error instanceof assert.AssertionError)) throw error;
      // Node's message is a readable diff of the two event lists.
      fail('decide emitted other events than expected.', error.message, scenario, then);
    }
    return events.reduce(decider.evolve, state);
  };
  const thenNothing = (): State => {
    const events = expectSuccess(thenNothing);
    if (events.length > 0) fail('Expected no events, but decide emitted:', indent(show(events)), scenario, thenNothing);
    return state;
  };
  const thenFails = (expected: ErrorExpectation<Err>): Err => {
    const result = outcome();
    const wanted = `Expected a failure with ${describeExpectation(expected as ErrorExpectation<unknown>)}`;
    if (E.isRight(result)) {
      return fail(`${wanted}, but decide emitted:`, indent(show(result.right)), scenario, thenFails);
    }
    if (!matches(result.left, expected)) {
      return fail(`${wanted}, but got:`, indent(show(result.left)), scenario, thenFails);
    }
    return result.left;
  };
  return { then, thenNothing, thenFails };
};

const whenStage = <Command, Event, State, Err>(
  decider: Decider<Command, Event, State, Err>,
  history: readonly Event[],
): WhenStage<Command, Event, State, Err> => ({
  when: (command) => {
    deepFreeze(history);
    const state = deepFreeze(history.reduce(decider.evolve, deepFreeze(decider.initialState)));
    return thenStage(decider, history, state, deepFreeze(command));
  },
});

export const DeciderSpecification = {
  for: <Command, Event, State, Err>(
    decider: Decider<Command, Event, State, Err>,
  ): Specification<Command, Event, State, Err> => ({
    given: (events) => whenStage(decider, events),
    ...whenStage(decider, []),
  }),
};
