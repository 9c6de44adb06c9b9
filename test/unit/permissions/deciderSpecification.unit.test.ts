import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../../../domain/shared/decider.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';

/**
 * The helper itself must be able to fail, with a message that tells what the
 * scenario was. A toy counter decider keeps these checks independent of any
 * real aggregate.
 */

type Command = { type: 'Add'; amount: number } | { type: 'Touch' };
type Event = { type: 'Added'; data: { amount: number } };
type State = { total: number; log: number[] };
type Err = { _tag: 'TooMuch'; limit: number } | { _tag: 'NotPositive' };

const counter: Decider<Command, Event, State, Err> = {
  initialState: { total: 0, log: [] },
  evolve: (state, event) => ({ total: state.total + event.data.amount, log: [...state.log, event.data.amount] }),
  decide: (command, state) => {
    if (command.type === 'Touch') return E.right([]);
    if (command.amount <= 0) return E.left({ _tag: 'NotPositive' });
    if (state.total + command.amount > 10) return E.left({ _tag: 'TooMuch', limit: 10 });
    return E.right([{ type: 'Added', data: { amount: command.amount } }]);
  },
};

const added = (amount: number): Event => ({ type: 'Added', data: { amount } });
const spec = DeciderSpecification.for(counter);

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected the specification to fail');
};

describe('DeciderSpecification', () => {
  it('passes and returns the state after the expected events', () => {
    const state = spec.given([added(2)]).when({ type: 'Add', amount: 3 }).then([added(3)]);
    expect(state).toEqual({ total: 5, log: [2, 3] });
  });

  it('returns the error for thenFails, by tag or by predicate', () => {
    const error = spec.given([added(9)]).when({ type: 'Add', amount: 2 }).thenFails('TooMuch');
    expect(error).toEqual({ _tag: 'TooMuch', limit: 10 });
    spec.when({ type: 'Add', amount: 0 }).thenFails((e) => e._tag === 'NotPositive');
  });

  it('reports other events with the history, the command and a diff', () => {
    const message = messageOf(() => spec.given([added(1)]).when({ type: 'Add', amount: 2 }).then([added(3)]));
    expect(message).toContain('Given:');
    expect(message).toContain("- { type: 'Added', data: { amount: 1 } }");
    expect(message).toContain("When:\n    { type: 'Add', amount: 2 }");
    expect(message).toContain('decide emitted other events than expected.');
    expect(message).toMatch(/\+\s+amount: 2/);
    expect(message).toMatch(/-\s+amount: 3/);
  });

  it('reports a failure where events were expected', () => {
    const message = messageOf(() => spec.when({ type: 'Add', amount: -1 }).then([added(-1)]));
    expect(message).toContain('(no events)');
    expect(message).toContain("Expected success, but decide failed with:\n    { _tag: 'NotPositive' }");
  });

  it('reports success or another error where a failure was expected', () => {
    expect(messageOf(() => spec.when({ type: 'Add', amount: 1 }).thenFails('TooMuch'))).toContain(
      "Expected a failure with 'TooMuch', but decide emitted:",
    );
    expect(messageOf(() => spec.when({ type: 'Add', amount: 0 }).thenFails('TooMuch'))).toContain(
      "Expected a failure with 'TooMuch', but got:\n    { _tag: 'NotPositive' }",
    );
    const isTooMuch = (e: Err) => e._tag === 'TooMuch';
    expect(messageOf(() => spec.when({ type: 'Add', amount: 0 }).thenFails(isTooMuch))).toContain(
      'an error matching isTooMuch',
    );
  });

  it('reports events where nothing was expected, and passes when there are none', () => {
    expect(messageOf(() => spec.when({ type: 'Add', amount: 1 }).thenNothing())).toContain(
      'Expected no events, but decide emitted:',
    );
    expect(spec.given([added(4)]).when({ type: 'Touch' }).thenNothing()).toEqual({ total: 4, log: [4] });
  });

  it('catches a decider that mutates its state instead of returning a new one', () => {
    const mutating: Decider<Command, Event, State, Err> = {
      ...counter,
      decide: (command, state) => {
        state.log.push(0);
        return counter.decide(command, state);
      },
    };
    const message = messageOf(() => DeciderSpecification.for(mutating).when({ type: 'Touch' }).thenNothing());
    expect(message).toContain('decide threw instead of returning Either');
  });
});
