/**
 * Every problem type the API answers, served at /problems/<slug> so each
 * `type` URI leads to an explanation. Kept in step with problems.ts by a test
 * (every slug problems.ts can produce is listed here).
 */
export type ProblemType = { readonly slug: string; readonly status: number; readonly title: string; readonly description: string };

const entry = (slug: string, status: number, title: string, description: string): ProblemType => ({ slug, status, title, description });

export const problemCatalog: readonly ProblemType[] = [
  entry('validation-failed', 400, 'Request validation failed', 'A path parameter, query parameter or body field is missing, of the wrong type, out of range, or unknown. `errors` lists each field and why.'),
  entry('bad-request', 400, 'Bad request', 'The request could not be read, for example a body that is not valid JSON.'),
  entry('invalid-request', 400, 'Invalid request', 'The request is well-formed but asks for something impossible.'),
  entry('invalid-amount', 400, 'Invalid amount', 'Amounts are positive whole numbers of credits within the safe integer range.'),
  entry('invalid-expiry', 400, 'Invalid expiry', 'A grant\'s expiresAt must be in the future.'),
  entry('invalid-id', 400, 'Invalid id', 'Ids are 1 to 200 characters.'),
  entry('idempotency-key-required', 400, 'Idempotency-Key required', 'POST /api/credits/deduct needs an Idempotency-Key header so that a retry never charges twice.'),
  entry('invalid-idempotency-key', 400, 'Invalid Idempotency-Key', 'The Idempotency-Key must be 1 to 200 printable ASCII characters.'),
  entry('unauthorized', 401, 'Authentication required', 'Send `Authorization: Bearer <JWT>`.'),
  entry('invalid-token', 401, 'Invalid token', 'The bearer token is malformed, forged, signed with another key or algorithm, or for another issuer or audience.'),
  entry('token-expired', 401, 'Token expired', 'The bearer token is past its expiry; get a new one.'),
  entry('insufficient-credits', 402, 'Insufficient credits', 'The account\'s available credits (balance minus holds) are less than requested. Nothing was charged. `requested` and `available` give the numbers.'),
  entry('forbidden', 403, 'Forbidden', 'The caller lacks the permission named in `action`, e.g. reading or spending another user\'s account, or granting credits.'),
  entry('account-suspended', 403, 'Account suspended', 'The user is suspended: their credits cannot be spent until an admin lifts the suspension.'),
  entry('not-found', 404, 'Not found', 'No route or resource at this path.'),
  entry('account-not-found', 404, 'Account not found', 'The account has no history.'),
  entry('reservation-not-found', 404, 'Reservation not found', 'No hold with this id on the account.'),
  entry('deduction-not-found', 404, 'Deduction not found', 'No deduction with this id on the account.'),
  entry('method-not-allowed', 405, 'Method not allowed', 'The path exists but not with this method.'),
  entry('id-conflict', 409, 'Id already used', 'A grant, deduction or hold id was first used with different inputs; `field` names the one that differs.'),
  entry('idempotency-key-reused', 409, 'Idempotency key reused', 'This Idempotency-Key was already used with a different request. Use a new key for a new operation.'),
  entry('idempotency-in-progress', 409, 'Request in progress', 'The first request with this Idempotency-Key is still running. Retry after the Retry-After delay to get its response.'),
  entry('reservation-resolved', 409, 'Reservation already resolved', 'The hold was already settled, released or expired.'),
  entry('reservation-not-expired', 409, 'Reservation not expired', 'The hold cannot be expired before its expiry time.'),
  entry('conflict', 409, 'Conflict', 'The request conflicts with the current state.'),
  entry('payload-too-large', 413, 'Payload too large', 'The body is larger than HTTP_MAX_BODY_BYTES.'),
  entry('unsupported-media-type', 415, 'Unsupported media type', 'Bodies are application/json.'),
  entry('charge-exceeds-hold', 422, 'Charge exceeds hold', 'A settlement asked for more than the hold.'),
  entry('refund-exceeds-deduction', 422, 'Refund exceeds deduction', 'A refund asked for more than is left of the deduction.'),
  entry('rate-limited', 429, 'Too many requests', 'The caller\'s request or token budget per minute is used up. Wait for the Retry-After header\'s seconds. `retryable: false` means this request alone exceeds the budget.'),
  entry('internal-error', 500, 'Internal server error', 'An unexpected error; it is logged with the request id.'),
  entry('provider-error', 502, 'Provider error', 'The AI provider refused or failed the request.'),
  entry('service-unavailable', 503, 'Service unavailable', 'A dependency is down; retry later.'),
  entry('event-store-unavailable', 503, 'Event store unavailable', 'The ledger\'s event store does not answer. What the request would have written was not written, or was written once: retrying the same request (the same Idempotency-Key) after Retry-After never writes it twice.'),
  entry('session-store-unavailable', 503, 'Session store unavailable', 'Redis (sessions, idempotency keys) does not answer. Nothing was charged; retry after Retry-After.'),
  entry('rate-limiter-unavailable', 503, 'Rate limiter unavailable', 'Redis (rate limits) does not answer. Requests are refused, never let through unlimited; retry after Retry-After.'),
  entry('auth-unavailable', 503, 'Token verification unavailable', 'The signing keys (JWKS) cannot be fetched, so no token can be verified right now.'),
  entry('provider-unavailable', 503, 'Provider unavailable', 'No AI provider can take the request now (breaker open or down).'),
  // Statuses hapi can raise on its own, described generically.
  entry('not-acceptable', 406, 'Not acceptable', 'The server cannot produce a representation the Accept header allows.'),
  entry('request-timeout', 408, 'Request timeout', 'The request body did not arrive in time.'),
  entry('length-required', 411, 'Length required', 'The request needs a Content-Length.'),
  entry('uri-too-long', 414, 'URI too long', 'The request URI is too long.'),
  entry('unprocessable-content', 422, 'Unprocessable content', 'The request is well-formed but cannot be processed.'),
  entry('not-implemented', 501, 'Not implemented', 'The server does not support this.'),
  entry('bad-gateway', 502, 'Bad gateway', 'An upstream service answered with an error.'),
  entry('gateway-timeout', 504, 'Gateway timeout', 'An upstream service did not answer in time.'),
  // Sora 2 sign-in and video generation (adapters/http/sora2/sora2Problems.ts).
  entry('code-not-found', 404, 'Unknown or expired verification code', 'The verification code is unknown or its 15 minutes are over. Start again with POST /api/sora2/auth/start.'),
  entry('code-not-authorized', 409, 'Sign-in not finished', 'Open the sign-in URL and sign in with Google first, then exchange the code.'),
  entry('code-already-used', 409, 'Verification code already used', 'A verification code works once. Start again with POST /api/sora2/auth/start.'),
  entry('code-expired', 410, 'Verification code expired', 'The code\'s 15 minutes are over. Start again with POST /api/sora2/auth/start.'),
  entry('invalid-state', 400, 'Invalid sign-in state', 'The sign-in link is unknown, expired or was already used.'),
  entry('sign-in-declined', 403, 'Sign-in declined', 'The identity provider refused the sign-in (`error` names its reason).'),
  entry('sign-in-failed', 401, 'Sign-in failed', 'The identity provider\'s answer could not be verified (ID token, nonce, issuer or audience).'),
  entry('sign-in-unavailable', 503, 'Sign-in not configured', 'GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set on this server.'),
  entry('identity-provider-unavailable', 503, 'Identity provider unavailable', 'Google (or the configured issuer) does not answer; retry later.'),
  entry('session-invalid', 401, 'Session token required', 'Send Authorization: Bearer <sessionToken>; the token is missing, unknown, or was revoked.'),
  entry('session-expired', 401, 'Session expired', 'The 24-hour session is over; sign in again.'),
  entry('session-revoked', 401, 'Session revoked', 'This session was revoked; sign in again.'),
  entry('unsupported-video-parameters', 400, 'Unsupported video parameters', 'The duration or resolution is not one Sora 2 supports; `allowed` lists the values.'),
  entry('job-not-found', 404, 'Video job not found', 'No video job with this id belongs to this account.'),
  entry('job-not-completed', 409, 'Video not ready', 'The job is still running; poll its status until it is completed.'),
  entry('video-rejected', 422, 'Video request rejected by the provider', 'The provider refused the request (e.g. content policy). Nothing was charged.'),
  entry('content-unavailable', 502, 'Video content unavailable', 'The finished video could not be fetched from the provider.'),
  entry('job-unpaid', 402, 'Video not paid for', 'The job finished after its credit hold had ended and the account could not pay for it; its content is not served.'),
];

export const problemTypeBySlug = new Map(problemCatalog.map((p) => [p.slug, p]));
