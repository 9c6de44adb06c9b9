import * as t from 'io-ts';
import type { JsonSchema } from '../schema.js';
import { Amount, boundedString, intFromString, IsoInstant, ServiceName, UserId, withDescription } from '../schema.js';
import { ReceiptSchema } from '../ledger/receipts.js';

/** Inputs of the credits routes (decoded with io-ts) and the shapes of their answers (documented). */

const OptionalUserId = withDescription(
  UserId,
  'The account to act on. Defaults to the caller (the JWT `sub`); another account needs credits:deduct-any or credits:read-any.',
);

export const CheckBody = t.intersection([t.type({ credits: Amount, service: ServiceName }), t.partial({ userId: OptionalUserId })]);
export type CheckBody = t.TypeOf<typeof CheckBody>;

export const SessionId = boundedString('SessionId', 200, /^[\x21-\x7e]+$/, 'The session the deduction belongs to (recorded on the ledger event).');

/** Printable ASCII, as HTTP header values are; long enough for any UUID or ULID scheme. */
export const IdempotencyKey = boundedString('IdempotencyKey', 200, /^[\x21-\x7e]+$/, 'A unique key per logical deduction (a UUID is ideal). Kept 24 h.');

export const DeductBody = t.intersection([
  t.type({ credits: Amount, service: ServiceName }),
  // The Idempotency-Key header, or this field for clients that cannot send headers (ChatGPT Actions).
  t.partial({ userId: OptionalUserId, sessionId: SessionId, idempotencyKey: IdempotencyKey }),
]);
export type DeductBody = t.TypeOf<typeof DeductBody>;


export const AccountParams = t.type({ userId: UserId });

export const HistoryQuery = t.partial({
  fromRevision: intFromString('fromRevision', 0, Number.MAX_SAFE_INTEGER, 'First revision to return (0 = the beginning).'),
  limit: intFromString('limit', 1, 1000, 'Page size, 1 to 1000 (default 50).'),
});

export const BalanceAtQuery = t.type({ at: withDescription(IsoInstant, 'The instant, RFC 3339 (e.g. 2025-10-14T08:57:00Z).') });

export const GrantId = boundedString('GrantId', 200, /^[\x21-\x7e]+$/, 'Caller-chosen id making the grant idempotent; generated when omitted.');
export const Reason = boundedString('Reason', 500, /^\P{Cc}+$/u, 'Why the credits are granted (kept in the ledger).');

export const GrantBody = t.intersection([
  t.type({ credits: Amount }),
  t.partial({
    grantId: GrantId,
    expiresAt: withDescription(IsoInstant, 'When unspent credits of this grant expire (RFC 3339); never when omitted.'),
    reason: Reason,
  }),
]);

// ---- Response shapes (documentation only; the handlers build them) ----------

const int = (description: string): JsonSchema => ({ type: 'integer', minimum: 0, description });

const balanceProperties = {
  balance: int('Credits on the account, including held ones.'),
  held: int('Credits held by open reservations (in-flight requests).'),
  available: int('Credits that can be spent now: balance - held.'),
};

export const BalanceSchema: JsonSchema = {
  type: 'object',
  required: ['userId', 'balance', 'held', 'available'],
  properties: { userId: { type: 'string' }, ...balanceProperties },
};

export const CheckSchema: JsonSchema = {
  type: 'object',
  required: ['userId', 'canSpend', 'requested', 'balance', 'held', 'available'],
  properties: {
    userId: { type: 'string' },
    canSpend: { type: 'boolean', description: 'Whether `credits` can be spent now.' },
    requested: int('The amount asked about.'),
    ...balanceProperties,
  },
};

export const DeductSchema: JsonSchema = {
  type: 'object',
  required: ['userId', 'deductionId', 'charged', 'service', 'balance', 'held', 'available'],
  properties: {
    userId: { type: 'string' },
    deductionId: { type: 'string', description: 'The ledger id of this deduction (derived from the Idempotency-Key).' },
    charged: int('Credits deducted.'),
    service: { type: 'string' },
    ...balanceProperties,
    receipt: ReceiptSchema,
  },
};

export const GrantSchema: JsonSchema = {
  type: 'object',
  required: ['userId', 'grantId', 'granted', 'balance', 'held', 'available', 'duplicate'],
  properties: {
    userId: { type: 'string' },
    grantId: { type: 'string' },
    granted: int('Credits granted.'),
    duplicate: { type: 'boolean', description: 'True when this grant id had already been applied (nothing changed).' },
    ...balanceProperties,
    receipt: ReceiptSchema,
  },
};

export const HistorySchema: JsonSchema = {
  type: 'object',
  required: ['userId', 'items'],
  properties: {
    userId: { type: 'string' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['revision', 'type', 'at', 'data', 'hash'],
        properties: {
          revision: { type: 'integer' },
          type: { type: 'string', description: 'CreditsGranted, CreditsDeducted, CreditsReserved, ReservationSettled...' },
          at: { type: 'string', format: 'date-time' },
          data: { type: 'object', additionalProperties: true },
          hash: { type: 'string', description: 'SHA-256 chained to the previous event of the account.' },
        },
      },
    },
    next: { type: 'string', description: 'Path of the next page; absent on the last page.' },
  },
};

export const BalanceAtSchema: JsonSchema = {
  type: 'object',
  required: ['userId', 'at', 'revision', 'balance', 'held', 'available'],
  properties: {
    userId: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    revision: { type: 'integer', description: 'Last account revision at that instant (-1: none yet).' },
    ...balanceProperties,
  },
};
