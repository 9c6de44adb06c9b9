import * as E from 'fp-ts/lib/Either.js';
import type { AllocationPart } from './burnDown.js';
import { isExpiredAt, mergeParts } from './burnDown.js';
import type { CreditAccountCommand } from './commands.js';
import type { CreditAccountError } from './errors.js';
import type { CreditAccountEvent } from './events.js';
import type { OpenAccount } from './state.js';

/** Small shared vocabulary of the CreditAccount deciders. */
export type Decision = E.Either<CreditAccountError, readonly CreditAccountEvent[]>;
export type Cmd<T extends CreditAccountCommand['type']> = Extract<CreditAccountCommand, { type: T }>;

export const ok = (...events: CreditAccountEvent[]): Decision => E.right(events);
export const nothing: Decision = E.right([]);
export const fail = (error: CreditAccountError): Decision => E.left(error);

export const conflict = (kind: Extract<CreditAccountError, { _tag: 'IdConflict' }>['kind'], id: string, field: string): Decision =>
  fail({ _tag: 'IdConflict', kind, id, field });

/** Ids are caller-chosen strings; an empty or huge one is a client bug, refused before it reaches history. */
export const checkId = (field: string, id: string): CreditAccountError | undefined =>
  typeof id !== 'string' || id.length === 0 || id.length > 200 ? { _tag: 'InvalidId', field } : undefined;

/**
 * Credit that comes back (a release or a refund) to a grant whose expiry
 * instant has passed expires at once, in the same decision: it was never
 * spendable again, and nobody has to wait for a sweep to see it gone.
 */
export const expireReturned = (state: OpenAccount, returned: Iterable<AllocationPart>, at: number): CreditAccountEvent[] =>
  mergeParts(returned)
    .filter((p) => {
      const pot = state.grants.get(p.grantId);
      return pot !== undefined && isExpiredAt(pot, at);
    })
    .map((p) => ({ type: 'GrantExpired', data: { grantId: p.grantId, amount: p.amount, at } }));
