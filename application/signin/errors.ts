/**
 * Why a sign-in step was refused. The HTTP adapter maps each tag to one
 * problem type; the ones an auditor must see are also recorded on the session
 * stream as `AuthAttemptFailed`.
 */
export type SignInError =
  /** The verification code is unknown or its 15 minutes are over (not told apart: both are "gone"). */
  | { readonly _tag: 'CodeNotFound' }
  /** The code exists but Google sign-in has not finished for it yet. */
  | { readonly _tag: 'CodeNotAuthorized' }
  /** The code was already exchanged for a session token, or already signed in. */
  | { readonly _tag: 'CodeAlreadyUsed' }
  | { readonly _tag: 'CodeExpired' }
  /** The OAuth `state` is unknown, expired or was used before. */
  | { readonly _tag: 'InvalidState' }
  /** The provider answered the callback with an error (the user declined...). */
  | { readonly _tag: 'SignInDeclined'; readonly error: string }
  /** Code exchange or ID token verification failed. */
  | { readonly _tag: 'SignInFailed'; readonly reason: string }
  | { readonly _tag: 'IdentityProviderUnavailable'; readonly message: string }
  /** No session token, or one that is unknown, revoked or past its 24 hours. */
  | { readonly _tag: 'SessionInvalid' }
  | { readonly _tag: 'SessionExpired'; readonly expiredAt: number }
  | { readonly _tag: 'SessionRevoked' };

export type SignInErrorTag = SignInError['_tag'];
