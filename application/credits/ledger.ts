import * as E from 'fp-ts/lib/Either.js';
import type { CreditAccountCommand, CreditAccountError, CreditAccountEvent, CreditAccountState, HoldEnd, Purpose, Usage } from '../../domain/creditAccount/index.js';
import { accountStream, available, CreditAccountEvent as EventCodec, creditAccountDecider } from '../../domain/creditAccount/index.js';
import type { CommandHandler, HandleOptions, HandlerOptions } from '../commandHandler.js';
import { makeCommandHandler } from '../commandHandler.js';
import type { Clock, Ids } from '../ports/clock.js';
import type { EventStore, RecordedEvent } from '../ports/eventStore.js';

/**
 * The credit use cases: each one loads the account, lets the decider judge the
 * command, appends what it decided, and answers with the numbers a caller
 * needs. A repeated command (same id, same inputs) appends nothing and answers
 * with the outcome the first one recorded, flagged `duplicate: true`.
 */
export type Balances = { readonly balance: number; readonly held: number; readonly available: number };

export type LedgerDeps = {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly handlerOptions?: HandlerOptions;
};

export type AccountHandler = CommandHandler<CreditAccountCommand, CreditAccountEvent, CreditAccountState, CreditAccountError>;

export const decodeAccountEvent = (recorded: RecordedEvent): CreditAccountEvent | undefined => {
  const decoded = EventCodec.decode({ type: recorded.type, data: recorded.data });
  return E.isRight(decoded) ? decoded.right : undefined;
};

/** With `at`, `available` leaves out credit past its expiry at that instant, swept or not. */
export const balancesOf = (state: CreditAccountState, at?: number): Balances =>
  state.status === 'open'
    ? { balance: state.balance, held: state.held, available: available(state, at) }
    : { balance: 0, held: 0, available: 0 };

type Result<T> = Promise<E.Either<CreditAccountError, T & Balances & { readonly duplicate: boolean }>>;

export const makeLedger = (deps: LedgerDeps) => {
  const handler: AccountHandler = makeCommandHandler({
    store: deps.store,
    decider: creditAccountDecider,
    decode: decodeAccountEvent,
    clock: deps.clock,
    ids: deps.ids,
    ...(deps.handlerOptions === undefined ? {} : { options: deps.handlerOptions }),
  });

  const run = async <T>(
    accountId: string,
    command: CreditAccountCommand,
    outcome: (state: Extract<CreditAccountState, { status: 'open' }>) => T,
    options: HandleOptions = {},
  ): Result<T> => {
    const result = await handler.handle(accountStream(accountId), command, options);
    if (E.isLeft(result)) return result;
    const { state, events } = result.right;
    if (state.status !== 'open') throw new Error(`account ${accountId} not open after ${command.type}`);
    // `outcome` builds a fresh record per call, so the balances are added to it rather than copied with it:
    // spreading records of every use case's shape in this one place takes V8's slowest path.
    const answer = outcome(state) as T & { balance: number; held: number; available: number; duplicate: boolean };
    const { balance, held, available: spendable } = balancesOf(state, now());
    answer.balance = balance;
    answer.held = held;
    answer.available = spendable;
    answer.duplicate = events.length === 0;
    return E.right(answer);
  };

  const now = () => deps.clock.now();

  return {
    handler,

    openAccount: (accountId: string) => run(accountId, { type: 'OpenAccount', accountId, at: now() }, () => ({ accountId })),

    grant: (input: { accountId: string; grantId: string; amount: number; expiresAt?: number; reason?: string; by?: string; priority?: number }) =>
      run(input.accountId, { type: 'GrantCredits', ...input, at: now() }, () => ({ grantId: input.grantId, amount: input.amount })),

    deduct: (input: { accountId: string; deductionId: string; amount: number; service: string; reason?: string; sessionId?: string; by?: string }) => {
      const { accountId, ...rest } = input;
      return run(accountId, { type: 'DeductCredits', ...rest, at: now() }, () => ({ deductionId: input.deductionId, amount: input.amount }));
    },

    refund: (input: { accountId: string; refundId: string; deductionId: string; amount: number; reason?: string; by?: string }) => {
      const { accountId, ...rest } = input;
      return run(accountId, { type: 'RefundDeduction', ...rest, at: now() }, () => ({ refundId: input.refundId, amount: input.amount }));
    },

    /** Refunds (part of) what a hold charged, settled or expired with progress; idempotent on refundId. */
    refundSettlement: (input: { accountId: string; refundId: string; reservationId: string; amount: number; reason?: string; by?: string }) => {
      const { accountId, ...rest } = input;
      return run(accountId, { type: 'RefundSettlement', ...rest, at: now() }, () => ({ refundId: input.refundId, amount: input.amount }));
    },

    reserve: (input: { accountId: string; reservationId: string; amount: number; ttlMs: number; purpose: Purpose }, options?: HandleOptions) => {
      const at = now();
      return run(
        input.accountId,
        { type: 'ReserveCredits', reservationId: input.reservationId, amount: input.amount, at, expiresAt: at + input.ttlMs, purpose: input.purpose },
        (state) => {
          const hold = state.reservations.get(input.reservationId);
          return { reservationId: input.reservationId, amount: hold?.amount ?? input.amount, expiresAt: hold?.expiresAt ?? at + input.ttlMs };
        },
        options,
      );
    },

    settle: (input: { accountId: string; reservationId: string; charge: number; usage: Usage; priceSheetVersion: string; ended?: HoldEnd }, options?: HandleOptions) =>
      run(
        input.accountId,
        {
          type: 'SettleReservation',
          reservationId: input.reservationId,
          charge: input.charge,
          usage: input.usage,
          priceSheetVersion: input.priceSheetVersion,
          at: now(),
          ...(input.ended === undefined ? {} : { ended: input.ended }),
        },
        (state) => {
          const hold = state.reservations.get(input.reservationId);
          const charged = hold?.charged ?? input.charge;
          return { reservationId: input.reservationId, charged, released: (hold?.amount ?? charged) - charged };
        },
        options,
      ),

    /**
     * Records what a running hold has cost so far and moves its expiry to now + ttlMs.
     * A repeat with the same charge, usage and expiry is a duplicate; the answer
     * always carries the hold's recorded charge and expiry.
     */
    progress: (
      input: { accountId: string; reservationId: string; charge: number; usage: Usage; priceSheetVersion: string; ttlMs: number },
      options?: HandleOptions,
    ): Result<{ readonly reservationId: string; readonly charged: number; readonly expiresAt: number }> => {
      const at = now();
      return run(
        input.accountId,
        {
          type: 'RecordHoldProgress',
          reservationId: input.reservationId,
          charge: input.charge,
          usage: input.usage,
          priceSheetVersion: input.priceSheetVersion,
          expiresAt: at + input.ttlMs,
          at,
        },
        (state) => {
          const hold = state.reservations.get(input.reservationId);
          return { reservationId: input.reservationId, charged: hold?.progress?.charged ?? input.charge, expiresAt: hold?.expiresAt ?? at + input.ttlMs };
        },
        options,
      );
    },

    release: (input: { accountId: string; reservationId: string; reason: string }, options?: HandleOptions) =>
      run(
        input.accountId,
        { type: 'ReleaseReservation', reservationId: input.reservationId, reason: input.reason, at: now() },
        (state) => ({ reservationId: input.reservationId, released: state.reservations.get(input.reservationId)?.amount ?? 0 }),
        options,
      ),

    /** Expires due holds and due grants of one account; returns what it expired. */
    sweep: async (accountId: string, options: { readonly holdGraceMs?: number } = {}) => {
      // A sweep is never refused, so nothing else would make it look at the store: read the tail first,
      // or the holds another (maybe dead) process took stay invisible to this one.
      await handler.load(accountStream(accountId));
      const result = await handler.handle(accountStream(accountId), { type: 'SweepExpired', at: now(), ...(options.holdGraceMs === undefined ? {} : { holdGraceMs: options.holdGraceMs }) });
      if (E.isLeft(result)) return result;
      return E.right({ expired: result.right.events, ...balancesOf(result.right.state, now()) });
    },

    /** Can `amount` be reserved now? Reads the tail first, so it sees other processes' writes. */
    check: async (accountId: string, amount: number) => {
      const view = await handler.load(accountStream(accountId));
      const balances = balancesOf(view.state, now());
      return { canSpend: Number.isSafeInteger(amount) && amount > 0 && amount <= balances.available, requested: amount, ...balances };
    },

    balance: async (accountId: string) => {
      const view = await handler.load(accountStream(accountId));
      return { accountId, exists: view.state.status === 'open', revision: view.revision, ...balancesOf(view.state, now()) };
    },
  };
};

export type Ledger = ReturnType<typeof makeLedger>;
