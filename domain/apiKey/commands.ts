import type { Instant } from '../shared/decider.js';
import type { KeyLimit, KeyRateLimits } from './events.js';

/**
 * Commands of one API key. The application hashes the secret (SHA-256 hex)
 * before it gets here, reads the clock into `at`, and chooses the key and
 * reservation ids; a repeated command with the same id and inputs is a no-op.
 */
export type CreateKey = {
  readonly type: 'CreateKey';
  readonly keyId: string;
  readonly accountId: string;
  readonly secretHash: string;
  readonly prefix: string;
  readonly name?: string;
  readonly limit?: KeyLimit;
  readonly models?: readonly string[];
  readonly rateLimits?: KeyRateLimits;
  readonly at: Instant;
};
/** A new secret replaces the old one at once; holds and spend stay with the key. */
export type RotateKey = { readonly type: 'RotateKey'; readonly secretHash: string; readonly prefix: string; readonly at: Instant };
export type RevokeKey = { readonly type: 'RevokeKey'; readonly reason: string; readonly at: Instant };
/** Reserves `amount` against the key's limit for the period containing `at`, until `expiresAt`. */
export type PlaceKeyHold = { readonly type: 'PlaceKeyHold'; readonly reservationId: string; readonly amount: number; readonly at: Instant; readonly expiresAt: Instant };
/** Records what the account was charged for the hold's request; never more than the hold. */
export type SettleKeyHold = { readonly type: 'SettleKeyHold'; readonly reservationId: string; readonly charge: number; readonly at: Instant };
export type ReleaseKeyHold = { readonly type: 'ReleaseKeyHold'; readonly reservationId: string; readonly reason: string; readonly at: Instant };
/** Expires every open hold whose deadline has passed (a crashed process left them). */
export type ExpireKeyHolds = { readonly type: 'ExpireKeyHolds'; readonly at: Instant };

export type ApiKeyCommand = CreateKey | RotateKey | RevokeKey | PlaceKeyHold | SettleKeyHold | ReleaseKeyHold | ExpireKeyHolds;

/** The one command of an account's key list. */
export type ListKey = { readonly type: 'ListKey'; readonly keyId: string; readonly at: Instant };
