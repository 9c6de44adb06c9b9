import { describe, expect, it } from '@jest/globals';
import type { ApiKeyEvent, CreateKey } from '../../../domain/apiKey/index.js';
import { apiKeyDecider, keyListDecider, periodStart } from '../../../domain/apiKey/index.js';
import { DeciderSpecification } from '../../support/deciderSpecification.js';

const spec = DeciderSpecification.for(apiKeyDecider);
const t0 = Date.UTC(2026, 0, 31, 23, 0, 0);
const hash = 'a'.repeat(64);
const create: CreateKey = { type: 'CreateKey', keyId: 'k1', accountId: 'team-1', secretHash: hash, prefix: 'clg_k1', limit: { credits: 100, period: 'day' }, at: t0 };
const created: ApiKeyEvent = {
  type: 'KeyCreated',
  data: { keyId: 'k1', accountId: 'team-1', secretHash: hash, prefix: 'clg_k1', name: null, limit: { credits: 100, period: 'day' }, models: null, rateLimits: null, at: t0 },
};
const day0 = periodStart('day', t0);
const placed = (reservationId: string, amount: number, at = t0, expiresAt = at + 60_000): ApiKeyEvent => ({
  type: 'KeyHoldPlaced',
  data: { reservationId, amount, periodStart: periodStart('day', at), at, expiresAt },
});

describe('ApiKey decider', () => {
  it('creates a key with its hash, limit and owner; the same create again is a retry', () => {
    spec.given([]).when(create).then([created]);
    spec.given([created]).when(create).thenNothing();
    spec.given([created]).when({ ...create, secretHash: 'b'.repeat(64) }).thenFails('KeyAlreadyExists');
  });

  it('refuses a secret that is not a SHA-256 digest, so no plain secret can be stored', () => {
    spec.given([]).when({ ...create, secretHash: 'clg_plain_secret' }).thenFails('InvalidCommand');
  });

  it('places a hold while spent + held + amount stays within the limit, and refuses past it', () => {
    spec.given([created]).when({ type: 'PlaceKeyHold', reservationId: 'r1', amount: 60, at: t0, expiresAt: t0 + 60_000 }).then([placed('r1', 60)]);
    spec.given([created, placed('r1', 60)]).when({ type: 'PlaceKeyHold', reservationId: 'r2', amount: 40, at: t0, expiresAt: t0 + 60_000 }).then([placed('r2', 40)]);
    const refused = spec.given([created, placed('r1', 60)]).when({ type: 'PlaceKeyHold', reservationId: 'r2', amount: 41, at: t0, expiresAt: t0 + 60_000 }).thenFails('KeyLimitReached');
    expect(refused).toMatchObject({ limit: 100, spent: 0, held: 60, requested: 41, periodStart: day0 });
  });

  it('counts settled spend in its period and starts afresh at the next UTC midnight', () => {
    const settled: ApiKeyEvent = { type: 'KeyHoldSettled', data: { reservationId: 'r1', charged: 90, at: t0 + 1000 } };
    spec.given([created, placed('r1', 100), settled]).when({ type: 'PlaceKeyHold', reservationId: 'r2', amount: 11, at: t0 + 2000, expiresAt: t0 + 60_000 }).thenFails('KeyLimitReached');
    const nextDay = t0 + 3_600_000;
    spec.given([created, placed('r1', 100), settled]).when({ type: 'PlaceKeyHold', reservationId: 'r2', amount: 100, at: nextDay, expiresAt: nextDay + 60_000 }).then([placed('r2', 100, nextDay)]);
  });

  it('a monthly limit rolls over on the first of the month (UTC)', () => {
    expect(periodStart('month', t0)).toBe(Date.UTC(2026, 0, 1));
    expect(periodStart('month', t0 + 3_600_000)).toBe(Date.UTC(2026, 1, 1));
    expect(periodStart('total', t0)).toBe(0);
  });

  it('expires a hold past its deadline in the same decision that needs its room', () => {
    const later = t0 + 120_000;
    spec
      .given([created, placed('r1', 100)])
      .when({ type: 'PlaceKeyHold', reservationId: 'r2', amount: 50, at: later, expiresAt: later + 60_000 })
      .then([{ type: 'KeyHoldExpired', data: { reservationId: 'r1', at: later } }, placed('r2', 50, later)]);
  });

  it('settles at most the hold, once; a repeat with the same charge is a retry, another charge a conflict', () => {
    const settle = { type: 'SettleKeyHold' as const, reservationId: 'r1', charge: 30, at: t0 + 1 };
    const settled: ApiKeyEvent = { type: 'KeyHoldSettled', data: { reservationId: 'r1', charged: 30, at: t0 + 1 } };
    spec.given([created, placed('r1', 60)]).when(settle).then([settled]);
    spec.given([created, placed('r1', 60), settled]).when(settle).thenNothing();
    spec.given([created, placed('r1', 60), settled]).when({ ...settle, charge: 31 }).thenFails('IdConflict');
    spec.given([created, placed('r1', 60)]).when({ ...settle, charge: 61 }).thenFails('ChargeAboveHold');
    spec.given([created]).when(settle).thenFails('HoldNotFound');
  });

  it('the same hold id with another amount is a conflict', () => {
    spec.given([created, placed('r1', 60)]).when({ type: 'PlaceKeyHold', reservationId: 'r1', amount: 60, at: t0, expiresAt: t0 + 60_000 }).thenNothing();
    spec.given([created, placed('r1', 60)]).when({ type: 'PlaceKeyHold', reservationId: 'r1', amount: 61, at: t0, expiresAt: t0 + 60_000 }).thenFails('IdConflict');
  });

  it('a revoked key takes no new hold but lets running requests settle', () => {
    const revoked: ApiKeyEvent = { type: 'KeyRevoked', data: { reason: 'leaked', at: t0 + 5 } };
    spec.given([created]).when({ type: 'RevokeKey', reason: 'leaked', at: t0 + 5 }).then([revoked]);
    spec.given([created, revoked]).when({ type: 'RevokeKey', reason: 'again', at: t0 + 6 }).thenNothing();
    spec.given([created, revoked]).when({ type: 'PlaceKeyHold', reservationId: 'r1', amount: 1, at: t0 + 7, expiresAt: t0 + 60_000 }).thenFails('KeyRevoked');
    spec
      .given([created, placed('r1', 60), revoked])
      .when({ type: 'SettleKeyHold', reservationId: 'r1', charge: 10, at: t0 + 8 })
      .then([{ type: 'KeyHoldSettled', data: { reservationId: 'r1', charged: 10, at: t0 + 8 } }]);
    spec.given([created, revoked]).when({ type: 'RotateKey', secretHash: 'c'.repeat(64), prefix: 'clg_k1', at: t0 + 9 }).thenFails('KeyRevoked');
  });

  it('rotation replaces the hash; releasing gives the room back; a key without a limit takes any hold', () => {
    spec.given([created]).when({ type: 'RotateKey', secretHash: 'c'.repeat(64), prefix: 'clg_k1', at: t0 + 1 }).then([{ type: 'KeyRotated', data: { secretHash: 'c'.repeat(64), prefix: 'clg_k1', at: t0 + 1 } }]);
    const released: ApiKeyEvent = { type: 'KeyHoldReleased', data: { reservationId: 'r1', reason: 'failed', at: t0 + 1 } };
    spec.given([created, placed('r1', 100)]).when({ type: 'ReleaseKeyHold', reservationId: 'r1', reason: 'failed', at: t0 + 1 }).then([released]);
    spec.given([created, placed('r1', 100), released]).when({ type: 'PlaceKeyHold', reservationId: 'r2', amount: 100, at: t0 + 2, expiresAt: t0 + 2 + 60_000 }).then([placed('r2', 100, t0 + 2)]);
    const unlimited: ApiKeyEvent = { ...created, data: { ...(created.data as object), limit: null } } as ApiKeyEvent;
    spec.given([unlimited]).when({ type: 'PlaceKeyHold', reservationId: 'r1', amount: 1_000_000, at: t0, expiresAt: t0 + 1 }).then([
      { type: 'KeyHoldPlaced', data: { reservationId: 'r1', amount: 1_000_000, periodStart: 0, at: t0, expiresAt: t0 + 1 } },
    ]);
  });

  it('an account lists each key once', () => {
    const list = DeciderSpecification.for(keyListDecider);
    list.given([]).when({ type: 'ListKey', keyId: 'k1', at: t0 }).then([{ type: 'KeyListed', data: { keyId: 'k1', at: t0 } }]);
    list.given([{ type: 'KeyListed', data: { keyId: 'k1', at: t0 } }]).when({ type: 'ListKey', keyId: 'k1', at: t0 }).thenNothing();
  });
});
