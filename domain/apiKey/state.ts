import { absurd, type Instant } from '../shared/decider.js';
import type { ApiKeyEvent, KeyLimit, KeyRateLimits } from './events.js';

/**
 * A key is absent, live, or revoked; a revoked key keeps its holds so the
 * requests in flight when it was revoked can still settle. `period` is the
 * spend of the most recent limit period a hold was placed in; a hold placed
 * in an earlier period settles into that period, which the limit no longer
 * looks at. Closed holds are kept (bounded) so a repeated settle or release
 * is recognized as a retry.
 */
export type KeyHold = {
  readonly amount: number;
  readonly periodStart: Instant;
  readonly expiresAt: Instant;
  readonly status: 'open' | 'settled' | 'released' | 'expired';
  readonly charged: number;
};

export type KeyDetails = {
  readonly keyId: string;
  readonly accountId: string;
  readonly secretHash: string;
  readonly prefix: string;
  readonly name: string | null;
  readonly limit: KeyLimit | null;
  readonly models: readonly string[] | null;
  readonly rateLimits: KeyRateLimits | null;
  readonly createdAt: Instant;
  readonly period: { readonly start: Instant; readonly spent: number };
  readonly spentTotal: number;
  readonly holds: ReadonlyMap<string, KeyHold>;
};

export type ApiKeyState =
  | { readonly status: 'none' }
  | ({ readonly status: 'active' } & KeyDetails)
  | ({ readonly status: 'revoked'; readonly revokedAt: Instant; readonly reason: string } & KeyDetails);

export const initialApiKey: ApiKeyState = { status: 'none' };

/** How many closed holds are remembered for idempotent retries; older ones are forgotten. */
export const closedHoldsKept = 1024;

/** Open holds' total: what is reserved but not yet spent. */
export const heldOf = (state: KeyDetails): number => {
  let held = 0;
  for (const hold of state.holds.values()) if (hold.status === 'open') held += hold.amount;
  return held;
};

/** What was spent in the period starting at `start` (nothing, if holds have moved on to a later period). */
export const spentIn = (state: KeyDetails, start: Instant): number => (state.period.start === start ? state.period.spent : 0);

const withHold = (state: KeyDetails, reservationId: string, hold: KeyHold): Map<string, KeyHold> => {
  const holds = new Map(state.holds);
  holds.delete(reservationId);
  holds.set(reservationId, hold);
  if (holds.size > closedHoldsKept) {
    for (const [id, h] of holds) {
      if (holds.size <= closedHoldsKept) break;
      if (h.status !== 'open') holds.delete(id);
    }
  }
  return holds;
};

const close = (state: KeyDetails, reservationId: string, status: KeyHold['status'], charged: number): KeyDetails => {
  const hold = state.holds.get(reservationId);
  if (hold === undefined) return state;
  const inPeriod = hold.periodStart === state.period.start;
  return {
    ...state,
    holds: withHold(state, reservationId, { ...hold, status, charged }),
    period: inPeriod ? { start: state.period.start, spent: state.period.spent + charged } : state.period,
    spentTotal: state.spentTotal + charged,
  };
};

const onDetails = (state: ApiKeyState, change: (details: KeyDetails) => KeyDetails): ApiKeyState => {
  if (state.status === 'none') return state;
  return { ...state, ...change(state) };
};

export const evolveApiKey = (state: ApiKeyState, event: ApiKeyEvent): ApiKeyState => {
  switch (event.type) {
    case 'KeyCreated': {
      const { at, ...data } = event.data;
      return { status: 'active', ...data, createdAt: at, period: { start: 0, spent: 0 }, spentTotal: 0, holds: new Map() };
    }
    case 'KeyRotated':
      return onDetails(state, (d) => ({ ...d, secretHash: event.data.secretHash, prefix: event.data.prefix }));
    case 'KeyRevoked':
      if (state.status === 'none') return state;
      return { ...state, status: 'revoked', revokedAt: event.data.at, reason: event.data.reason };
    case 'KeyHoldPlaced': {
      const { reservationId, amount, periodStart, expiresAt } = event.data;
      return onDetails(state, (d) => ({
        ...d,
        period: periodStart > d.period.start ? { start: periodStart, spent: 0 } : d.period,
        holds: withHold(d, reservationId, { amount, periodStart, expiresAt, status: 'open', charged: 0 }),
      }));
    }
    case 'KeyHoldSettled':
      return onDetails(state, (d) => close(d, event.data.reservationId, 'settled', event.data.charged));
    case 'KeyHoldReleased':
      return onDetails(state, (d) => close(d, event.data.reservationId, 'released', 0));
    case 'KeyHoldExpired':
      return onDetails(state, (d) => close(d, event.data.reservationId, 'expired', 0));
    default:
      return absurd(event);
  }
};
