import * as E from 'fp-ts/lib/Either.js';
import { chargeFor, settleCharge } from '../../domain/pricing/charge.js';
import type { PriceSheet } from '../../domain/pricing/priceSheet.js';
import type { Credits } from '../../domain/shared/money.js';
import type { HoldEnd } from '../../domain/creditAccount/index.js';
import type { Ledger } from '../credits/ledger.js';
import type { Clock, Logger } from '../ports/clock.js';
import type { Usage } from '../ports/llmProvider.js';
import type { ProviderCandidate } from '../ports/providerSelector.js';
import type { Settled } from './errors.js';
import type { HoldKeeper } from './holdKeeper.js';
import { makeHoldKeeper } from './holdKeeper.js';
import type { Settlements } from './settlements.js';

/**
 * The money side of one stream once its hold is durable: the hold keeper
 * (progress while it runs), and the one way it ends, a settle for what was
 * produced (never below what progress already recorded, never above the
 * hold) or a release when nothing was.
 */
export type StreamHoldDeps = {
  readonly ledger: Pick<Ledger, 'progress' | 'release' | 'balance'>;
  readonly settlements: Pick<Settlements, 'settle'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly progressMs: number;
  readonly holdTtlMs: number;
  readonly streamMaxMs: number;
};

export type StreamHoldInput = {
  readonly userId: string;
  readonly requestId: string;
  readonly reservationId: string;
  readonly held: number;
  readonly startedAt: number;
  readonly expiresAt: number;
  /** The account's balances right after the hold was taken (for an answer while a settle is pending). */
  readonly reserved: { readonly balance: number; readonly available: number };
  readonly sheet: PriceSheet;
  readonly candidate: ProviderCandidate;
};

export type StreamHold = {
  readonly keeper: HoldKeeper;
  readonly settle: (usage: Usage, ended: HoldEnd) => Promise<Settled & { readonly capped: boolean }>;
  readonly release: (reason: string) => Promise<void>;
};

export const openStreamHold = (deps: StreamHoldDeps, input: StreamHoldInput): StreamHold => {
  const { ledger, logger } = deps;
  const { userId, requestId, reservationId, held, sheet, candidate } = input;

  const priceOf = (usage: Usage) => {
    const priced = chargeFor(sheet, candidate.model, usage);
    // A model removed from the sheet mid-stream cannot be priced: charge the hold, which the client accepted.
    return E.isRight(priced) ? settleCharge(held as Credits, priced.right) : { credits: held, capped: true };
  };
  const usageRecord = (usage: Usage) => ({ provider: candidate.provider.name, model: candidate.model, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });

  const keeper = makeHoldKeeper({ ...deps, progress: (p, o) => ledger.progress(p, o) }, {
    accountId: userId,
    reservationId,
    correlationId: requestId,
    priceSheetVersion: sheet.version,
    startedAt: input.startedAt,
    expiresAt: input.expiresAt,
    price: (usage) => priceOf(usage).credits,
    usageRecord,
  });

  const settle = async (usage: Usage, ended: HoldEnd): Promise<Settled & { readonly capped: boolean }> => {
    const priced = priceOf(usage);
    if (priced.capped) logger.warn({ requestId, model: candidate.model, usage, held }, 'usage priced above its hold; charged the hold');
    // Let a progress write in flight land first; what it recorded was delivered and is the least the settle charges.
    await keeper.idle();
    const charge = Math.max(priced.credits, keeper.recorded()?.charge ?? 0);
    const outcome = await deps.settlements.settle({ accountId: userId, reservationId, charge, usage: usageRecord(usage), priceSheetVersion: sheet.version, correlationId: requestId, ended });
    switch (outcome.kind) {
      case 'settled':
        return { charged: outcome.charged, balance: outcome.balance, available: outcome.available, capped: priced.capped };
      case 'pending':
        // What the account will show once the settle is written (other activity aside).
        return { charged: charge, balance: input.reserved.balance - charge, available: input.reserved.available + held - charge, capped: priced.capped, pending: true };
      case 'refused': {
        // The hold ended otherwise (expired after a long outage): its expiry charged the last recorded progress.
        const recorded = keeper.recorded()?.charge ?? 0;
        logger.error({ requestId, reservationId, charge, recorded, error: outcome.error }, 'settle refused; the hold ended before the stream did');
        const now = await ledger.balance(userId).catch(() => undefined);
        return { charged: recorded, balance: now?.balance ?? input.reserved.balance - recorded, available: now?.available ?? input.reserved.available, capped: priced.capped };
      }
    }
  };

  const release = async (reason: string) => {
    try {
      await ledger.release({ accountId: userId, reservationId, reason }, { correlationId: requestId });
    } catch (error) {
      logger.error({ requestId, reservationId, err: (error as Error).message }, 'release failed; the hold will expire');
    }
  };

  return { keeper, settle, release };
};
