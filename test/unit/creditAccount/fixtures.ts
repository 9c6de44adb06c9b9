import type { CreditAccountEvent } from '../../../domain/creditAccount/index.js';

/** Small builders so each specification reads as a story. */
export const T0 = 1_700_000_000_000;
export const opened = (at = T0): CreditAccountEvent => ({ type: 'AccountOpened', data: { accountId: 'alice', at } });
export const granted = (grantId: string, amount: number, extra: { expiresAt?: number; at?: number } = {}): CreditAccountEvent => ({
  type: 'CreditsGranted',
  data: { grantId, amount, at: extra.at ?? T0, ...(extra.expiresAt === undefined ? {} : { expiresAt: extra.expiresAt }) },
});
export const deducted = (deductionId: string, amount: number, service = 'sora2', at = T0): CreditAccountEvent => ({
  type: 'CreditsDeducted',
  data: { deductionId, amount, service, at },
});
export const reserved = (reservationId: string, amount: number, expiresAt = T0 + 60_000, at = T0): CreditAccountEvent => ({
  type: 'CreditsReserved',
  data: { reservationId, amount, expiresAt, at, purpose: { service: 'llm' } },
});
export const settled = (reservationId: string, charged: number, released: number, at = T0): CreditAccountEvent => ({
  type: 'ReservationSettled',
  data: { reservationId, charged, released, usage: { provider: 'openai', model: 'gpt-4o', inputTokens: 10, outputTokens: 20 }, priceSheetVersion: 'v1', at },
});
export const released = (reservationId: string, amount: number, reason = 'cancelled', at = T0): CreditAccountEvent => ({
  type: 'ReservationReleased',
  data: { reservationId, amount, reason, at },
});
export const usage = { provider: 'openai', model: 'gpt-4o', inputTokens: 10, outputTokens: 20 };
export const progressed = (reservationId: string, charged: number, expiresAt: number, at = T0): CreditAccountEvent => ({
  type: 'ReservationProgressed',
  data: { reservationId, charged, usage: { outputTokens: charged }, priceSheetVersion: 'v1', expiresAt, at },
});
