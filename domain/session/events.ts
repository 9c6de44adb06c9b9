import * as t from 'io-ts';
import { eventCodec } from '../shared/fields.js';
import { InstantCodec, Sha256Codec, textCodec } from './fields.js';

/**
 * Events of the Session stream (`session-<sessionId>`): the Sora 2 sign-in
 * lifecycle and the failed attempts an auditor must see. Codes and tokens are
 * stored only as SHA-256 hashes. The codecs decode what a store hands back, so
 * a malformed event is rejected instead of yielding a wrong session.
 */

const event = eventCodec;

export const CodeIssued = event(
  'CodeIssued',
  t.type({ sessionId: textCodec('sessionId'), codeHash: Sha256Codec, at: InstantCodec, expiresAt: InstantCodec }),
);
export const CodeConsumed = event('CodeConsumed', t.type({ at: InstantCodec }));
export const Authorized = event(
  'Authorized',
  t.type({
    googleSubject: textCodec('googleSubject'),
    // JSON has no undefined: an address Google did not share is null.
    email: t.union([textCodec('email'), t.null]),
    userId: textCodec('userId'),
    tokenHash: Sha256Codec,
    at: InstantCodec,
    expiresAt: InstantCodec,
  }),
);
export const Revoked = event('Revoked', t.type({ reason: textCodec('reason'), at: InstantCodec }));
/** `phase` says which deadline passed: the code's (never signed in) or the sign-in's. */
export const Expired = event(
  'Expired',
  t.type({ phase: t.keyof({ code: null, authorization: null }), expiresAt: InstantCodec, at: InstantCodec }),
);
export const AuthAttemptFailed = event('AuthAttemptFailed', t.type({ reason: textCodec('reason'), at: InstantCodec }));

export const SessionEvent = t.union(
  [CodeIssued, CodeConsumed, Authorized, Revoked, Expired, AuthAttemptFailed],
  'SessionEvent',
);

export type CodeIssued = t.TypeOf<typeof CodeIssued>;
export type CodeConsumed = t.TypeOf<typeof CodeConsumed>;
export type Authorized = t.TypeOf<typeof Authorized>;
export type Revoked = t.TypeOf<typeof Revoked>;
export type Expired = t.TypeOf<typeof Expired>;
export type AuthAttemptFailed = t.TypeOf<typeof AuthAttemptFailed>;
export type SessionEvent = t.TypeOf<typeof SessionEvent>;
export type SessionEventType = SessionEvent['type'];
