import * as E from 'fp-ts/lib/Either.js';
import type { LlmError, Usage } from '../ports/llmProvider.js';
import type { ProviderCandidate } from '../ports/providerSelector.js';
import type { GatewayError, Settled } from './errors.js';
import type { StreamStopReason } from './holdKeeper.js';

/** A stream that ended (completed, or stopped by the client or the gateway), with what was settled. */
export type CompletionDone = {
  readonly provider: string;
  readonly model: string;
  readonly usage: Usage;
  /** How the stream ended: normally, or stopped by the client (cancel, disconnect). */
  readonly ended: 'completed' | 'stopped';
  /** Why the gateway itself stopped the stream (its hold could not be kept, or it ran too long). */
  readonly stopReason?: StreamStopReason;
  readonly reservationId: string;
  readonly held: number;
  readonly capped: boolean;
} & Settled;


/** How a metered completion's attempts end, as values (see meteredCompletion.ts). */

/** The outcome of a stream that ended (completed or stopped by the client), with what was settled. */
export const finished = (
  candidate: ProviderCandidate,
  usage: Usage,
  ended: CompletionDone['ended'],
  hold: { readonly reservationId: string; readonly held: number },
  settled: Settled & { readonly capped: boolean },
  stopReason?: StreamStopReason,
): { kind: 'done'; outcome: E.Either<GatewayError, CompletionDone> } => ({
  kind: 'done',
  outcome: E.right({ provider: candidate.provider.name, model: candidate.model, usage, ended, ...(stopReason === undefined ? {} : { stopReason }), ...hold, ...settled }),
});

/** What settles when nothing was charged: the account as it stands. */
export const nothingCharged = (balances: { readonly balance: number; readonly available: number }) => ({
  charged: 0,
  balance: balances.balance,
  available: balances.available,
  capped: false,
});

export const providerError = (llm: LlmError | undefined, thrown: unknown, settled?: Settled): GatewayError => ({
  _tag: llm?._tag === 'ProviderUnavailable' || llm?._tag === 'ProviderRateLimited' ? 'ProviderUnavailable' : 'ProviderError',
  message: llm?.message ?? (thrown instanceof Error ? thrown.message : 'provider failed'),
  retryable: llm?.retryable ?? true,
  ...(settled === undefined ? {} : { settled }),
});

