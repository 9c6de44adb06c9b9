import type { Instant } from '../shared/decider.js';

/**
 * Commands for one Sora 2 sign-in session. The application hashes the code and
 * the session token (SHA-256, lowercase hex) before they get here, reads the
 * clock into `at`, and chooses the session id. TTLs are optional; the
 * defaults are 15 minutes for a code and 24 hours for a sign-in.
 */
export type IssueCode = {
  readonly type: 'IssueCode';
  readonly sessionId: string;
  readonly codeHash: string;
  readonly at: Instant;
  readonly ttlMs?: number;
};

/** The user presented the code (the exchange step); a code works once. */
export type ConsumeCode = { readonly type: 'ConsumeCode'; readonly at: Instant };

/** Google sign-in succeeded for this session's code; links the ledger user. */
export type Authorize = {
  readonly type: 'Authorize';
  readonly googleSubject: string;
  readonly email?: string;
  readonly userId: string;
  readonly tokenHash: string;
  readonly at: Instant;
  readonly ttlMs?: number;
};

export type Revoke = { readonly type: 'Revoke'; readonly reason: string; readonly at: Instant };

/** Sent by a sweeper once a deadline passed; refused before it. */
export type MarkExpired = { readonly type: 'MarkExpired'; readonly at: Instant };

/** Puts a rejected sign-in step on the record; allowed in every state. */
export type RecordFailedAttempt = {
  readonly type: 'RecordFailedAttempt';
  readonly reason: string;
  readonly at: Instant;
};

export type SessionCommand = IssueCode | ConsumeCode | Authorize | Revoke | MarkExpired | RecordFailedAttempt;
