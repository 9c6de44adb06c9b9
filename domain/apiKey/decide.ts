import * as E from 'fp-ts/lib/Either.js';
import { absurd, type Instant } from '../shared/decider.js';
import { isInstant, isText } from '../shared/fields.js';
import type { ApiKeyCommand, CreateKey, PlaceKeyHold, SettleKeyHold } from './commands.js';
import type { ApiKeyError } from './errors.js';
import type { ApiKeyEvent } from './events.js';
import { periodStart } from './period.js';
import { heldOf, spentIn, type ApiKeyState, type KeyDetails } from './state.js';

type Decision = E.Either<ApiKeyError, readonly ApiKeyEvent[]>;

const nothing: Decision = E.right([]);
const reject = (error: ApiKeyError): Decision => E.left(error);
const invalid = (field: string, problem: string): ApiKeyError => ({ _tag: 'InvalidCommand', field, problem });

/** At most this many models in an allow-list: a list is a policy, not a catalogue. */
export const modelsMax = 100;

const isSha256 = (value: unknown): boolean => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
const isAmount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
const isCharge = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const validateCreate = (c: CreateKey): ApiKeyError | undefined => {
  if (!isText(64)(c.keyId)) return invalid('keyId', 'not_text');
  if (!isText(200)(c.accountId)) return invalid('accountId', 'not_text');
  if (!isSha256(c.secretHash)) return invalid('secretHash', 'not_sha256_hex');
  if (!isText(64)(c.prefix)) return invalid('prefix', 'not_text');
  if (c.name !== undefined && !isText(200)(c.name)) return invalid('name', 'not_text');
  if (c.limit !== undefined && !isAmount(c.limit.credits)) return invalid('limit', 'not_positive_credits');
  if (c.models !== undefined && (c.models.length === 0 || c.models.length > modelsMax || !c.models.every(isText(200)))) return invalid('models', 'not_a_model_list');
  if (c.rateLimits !== undefined && (!isAmount(c.rateLimits.requestsPerMin) || !isAmount(c.rateLimits.tokensPerMin))) return invalid('rateLimits', 'not_positive');
  return undefined;
};

/** The first problem with a command's fields, or undefined; rules about the key come after. */
const validate = (command: ApiKeyCommand): ApiKeyError | undefined => {
  if (!isInstant(command.at)) return invalid('at', 'not_an_instant');
  switch (command.type) {
    case 'CreateKey':
      return validateCreate(command);
    case 'RotateKey':
      return !isSha256(command.secretHash) ? invalid('secretHash', 'not_sha256_hex') : !isText(64)(command.prefix) ? invalid('prefix', 'not_text') : undefined;
    case 'RevokeKey':
      return isText(500)(command.reason) ? undefined : invalid('reason', 'not_text');
    case 'PlaceKeyHold':
      if (!isText(200)(command.reservationId)) return invalid('reservationId', 'not_text');
      if (!isAmount(command.amount)) return invalid('amount', 'not_positive_credits');
      return isInstant(command.expiresAt) && command.expiresAt > command.at ? undefined : invalid('expiresAt', 'not_after_at');
    case 'SettleKeyHold':
      if (!isText(200)(command.reservationId)) return invalid('reservationId', 'not_text');
      return isCharge(command.charge) ? undefined : invalid('charge', 'not_credits');
    case 'ReleaseKeyHold':
      if (!isText(200)(command.reservationId)) return invalid('reservationId', 'not_text');
      return isText(500)(command.reason) ? undefined : invalid('reason', 'not_text');
    case 'ExpireKeyHolds':
      return undefined;
    default:
      return absurd(command);
  }
};

/** Open holds whose deadline has passed at `at`: their room is given back before anything else is decided. */
const expiredHolds = (state: KeyDetails, at: Instant): ApiKeyEvent[] => {
  const events: ApiKeyEvent[] = [];
  for (const [reservationId, hold] of state.holds) {
    if (hold.status === 'open' && hold.expiresAt <= at) events.push({ type: 'KeyHoldExpired', data: { reservationId, at } });
  }
  return events;
};

const createKey = (c: CreateKey, state: ApiKeyState): Decision => {
  if (state.status !== 'none') return state.keyId === c.keyId && state.secretHash === c.secretHash ? nothing : reject({ _tag: 'KeyAlreadyExists' });
  const data = {
    keyId: c.keyId,
    accountId: c.accountId,
    secretHash: c.secretHash,
    prefix: c.prefix,
    name: c.name ?? null,
    limit: c.limit === undefined ? null : { credits: c.limit.credits, period: c.limit.period },
    models: c.models === undefined ? null : [...c.models],
    rateLimits: c.rateLimits === undefined ? null : { requestsPerMin: c.rateLimits.requestsPerMin, tokensPerMin: c.rateLimits.tokensPerMin },
    at: c.at,
  };
  return E.right([{ type: 'KeyCreated', data }]);
};

/**
 * The key's limit rule: in the period that contains `at` (never earlier than
 * the latest period already used), spent + open holds + the new hold must not
 * pass the limit. Holds that expired by `at` are expired in the same decision,
 * so their room counts as free and the history says why.
 */
const placeHold = (c: PlaceKeyHold, state: ApiKeyState): Decision => {
  if (state.status === 'none') return reject({ _tag: 'KeyNotFound' });
  if (state.status === 'revoked') return reject({ _tag: 'KeyRevoked', revokedAt: state.revokedAt });
  const existing = state.holds.get(c.reservationId);
  if (existing !== undefined) return existing.amount === c.amount && existing.expiresAt === c.expiresAt ? nothing : reject({ _tag: 'IdConflict', reservationId: c.reservationId });
  const expired = expiredHolds(state, c.at);
  const gone = new Set(expired.map((e) => (e.data as { reservationId: string }).reservationId));
  let held = heldOf(state);
  for (const id of gone) held -= state.holds.get(id)?.amount ?? 0;
  const start = state.limit === null ? state.period.start : Math.max(periodStart(state.limit.period, c.at), state.period.start);
  if (state.limit !== null) {
    const spent = spentIn(state, start);
    if (spent + held + c.amount > state.limit.credits) {
      return reject({ _tag: 'KeyLimitReached', limit: state.limit.credits, spent, held, requested: c.amount, periodStart: start });
    }
  }
  const placed: ApiKeyEvent = { type: 'KeyHoldPlaced', data: { reservationId: c.reservationId, amount: c.amount, periodStart: start, at: c.at, expiresAt: c.expiresAt } };
  return E.right([...expired, placed]);
};

const settleHold = (c: SettleKeyHold, state: ApiKeyState): Decision => {
  if (state.status === 'none') return reject({ _tag: 'KeyNotFound' });
  const hold = state.holds.get(c.reservationId);
  if (hold === undefined) return reject({ _tag: 'HoldNotFound', reservationId: c.reservationId });
  if (hold.status === 'settled') return hold.charged === c.charge ? nothing : reject({ _tag: 'IdConflict', reservationId: c.reservationId });
  if (hold.status !== 'open') return reject({ _tag: 'HoldClosed', reservationId: c.reservationId, status: hold.status });
  if (c.charge > hold.amount) return reject({ _tag: 'ChargeAboveHold', reservationId: c.reservationId, charge: c.charge, amount: hold.amount });
  return E.right([{ type: 'KeyHoldSettled', data: { reservationId: c.reservationId, charged: c.charge, at: c.at } }]);
};

export const decideApiKey = (command: ApiKeyCommand, state: ApiKeyState): Decision => {
  const problem = validate(command);
  if (problem !== undefined) return reject(problem);
  switch (command.type) {
    case 'CreateKey':
      return createKey(command, state);
    case 'RotateKey':
      if (state.status === 'none') return reject({ _tag: 'KeyNotFound' });
      if (state.status === 'revoked') return reject({ _tag: 'KeyRevoked', revokedAt: state.revokedAt });
      if (state.secretHash === command.secretHash) return nothing;
      return E.right([{ type: 'KeyRotated', data: { secretHash: command.secretHash, prefix: command.prefix, at: command.at } }]);
    case 'RevokeKey':
      if (state.status === 'none') return reject({ _tag: 'KeyNotFound' });
      if (state.status === 'revoked') return nothing;
      return E.right([{ type: 'KeyRevoked', data: { reason: command.reason, at: command.at } }]);
    case 'PlaceKeyHold':
      return placeHold(command, state);
    case 'SettleKeyHold':
      return settleHold(command, state);
    case 'ReleaseKeyHold': {
      if (state.status === 'none') return reject({ _tag: 'KeyNotFound' });
      const hold = state.holds.get(command.reservationId);
      if (hold === undefined) return reject({ _tag: 'HoldNotFound', reservationId: command.reservationId });
      if (hold.status === 'released' || hold.status === 'expired') return nothing;
      if (hold.status === 'settled') return reject({ _tag: 'HoldClosed', reservationId: command.reservationId, status: hold.status });
      return E.right([{ type: 'KeyHoldReleased', data: { reservationId: command.reservationId, reason: command.reason, at: command.at } }]);
    }
    case 'ExpireKeyHolds':
      return state.status === 'none' ? nothing : E.right(expiredHolds(state, command.at));
    default:
      return absurd(command);
  }
};
