import * as t from 'io-ts';
import { eventCodec, InstantCodec, isText } from '../shared/fields.js';

/**
 * Events of the ApiKey stream (`apikey-<keyId>`). The secret itself never
 * appears: only its SHA-256 digest and a short prefix that is safe to show
 * (it names the key, it does not unlock it). The key's own holds mirror the
 * account's two-phase reservations, so the key's limit is enforced by the
 * same mechanism and survives a crash (an open hold expires).
 */

const Sha256 = t.refinement(t.string, (s) => /^[0-9a-f]{64}$/.test(s), 'Sha256Hex');
const Amount = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'Credits');
const Text = (name: string, max: number) => t.refinement(t.string, isText(max), name);

export const LimitPeriod = t.keyof({ total: null, day: null, month: null });
export type LimitPeriod = t.TypeOf<typeof LimitPeriod>;

export const KeyLimit = t.type({ credits: Amount, period: LimitPeriod });
export type KeyLimit = t.TypeOf<typeof KeyLimit>;

export const KeyRateLimits = t.type({ requestsPerMin: Amount, tokensPerMin: Amount });
export type KeyRateLimits = t.TypeOf<typeof KeyRateLimits>;

export const KeyCreated = eventCodec(
  'KeyCreated',
  t.type({
    keyId: Text('keyId', 64),
    accountId: Text('accountId', 200),
    secretHash: Sha256,
    prefix: Text('prefix', 64),
    name: t.union([Text('name', 200), t.null]),
    limit: t.union([KeyLimit, t.null]),
    models: t.union([t.array(Text('model', 200)), t.null]),
    rateLimits: t.union([KeyRateLimits, t.null]),
    at: InstantCodec,
  }),
);
export const KeyRotated = eventCodec('KeyRotated', t.type({ secretHash: Sha256, prefix: Text('prefix', 64), at: InstantCodec }));
export const KeyRevoked = eventCodec('KeyRevoked', t.type({ reason: Text('reason', 500), at: InstantCodec }));
export const KeyHoldPlaced = eventCodec(
  'KeyHoldPlaced',
  t.type({ reservationId: Text('reservationId', 200), amount: Amount, periodStart: InstantCodec, at: InstantCodec, expiresAt: InstantCodec }),
);
export const KeyHoldSettled = eventCodec('KeyHoldSettled', t.type({ reservationId: Text('reservationId', 200), charged: Amount, at: InstantCodec }));
export const KeyHoldReleased = eventCodec(
  'KeyHoldReleased',
  t.type({ reservationId: Text('reservationId', 200), reason: Text('reason', 500), at: InstantCodec }),
);
export const KeyHoldExpired = eventCodec('KeyHoldExpired', t.type({ reservationId: Text('reservationId', 200), at: InstantCodec }));

export const ApiKeyEvent = t.union([KeyCreated, KeyRotated, KeyRevoked, KeyHoldPlaced, KeyHoldSettled, KeyHoldReleased, KeyHoldExpired], 'ApiKeyEvent');

export type KeyCreated = t.TypeOf<typeof KeyCreated>;
export type KeyHoldPlaced = t.TypeOf<typeof KeyHoldPlaced>;
export type ApiKeyEvent = t.TypeOf<typeof ApiKeyEvent>;

/** The account's list of its keys (`apikeys-<accountId>`): one event per key, so listing needs no scan of history. */
export const KeyListed = eventCodec('KeyListed', t.type({ keyId: Text('keyId', 64), at: InstantCodec }));
export type KeyListed = t.TypeOf<typeof KeyListed>;
