import type { Decider } from '../shared/decider.js';
import type { CreditAccountCommand } from './commands.js';
import { decide } from './decide.js';
import type { CreditAccountError } from './errors.js';
import type { CreditAccountEvent } from './events.js';
import type { CreditAccountState } from './state.js';
import { evolve, initialState } from './state.js';

export * from './commands.js';
export * from './errors.js';
export * from './events.js';
export * from './state.js';
export * from './burnDown.js';
export { decide } from './decide.js';

export const creditAccountDecider: Decider<CreditAccountCommand, CreditAccountEvent, CreditAccountState, CreditAccountError> = {
  decide,
  evolve,
  initialState,
};
