import type { FieldProblem } from './fields.js';

/**
 * Why a Session command was refused. The application turns the rejections an
 * auditor must see (an expired or reused code, a revoked session) into a
 * `RecordFailedAttempt` command, so they land in the stream as events.
 */
export type SessionError =
  | { readonly _tag: 'InvalidCommand'; readonly field: string; readonly problem: FieldProblem }
  | { readonly _tag: 'SessionNotFound' }
  | { readonly _tag: 'SessionAlreadyExists'; readonly status: 'code_issued' | 'authorized' | 'revoked' | 'expired' }
  | { readonly _tag: 'CodeExpired'; readonly expiresAt: number }
  | { readonly _tag: 'CodeAlreadyUsed' }
  | { readonly _tag: 'AlreadyAuthorized' }
  | { readonly _tag: 'SessionRevoked'; readonly revokedAt: number }
  | { readonly _tag: 'SessionExpired'; readonly expiredAt: number }
  | { readonly _tag: 'NotYetExpired'; readonly expiresAt: number };
