import type { SignInError } from '../../../application/signin/errors.js';
import type { VideoError } from '../../../application/video/errors.js';
import type { ProblemType } from '../problemCatalog.js';
import type { Problem } from '../problems.js';
import { accessErrorToProblem, gatewayErrorToProblem, problem, unavailable, withHeaders } from '../problems.js';

/**
 * The one mapping of Sora 2 sign-in and video refusals to problem+json.
 * Insufficient credits, permissions and provider outages reuse the shared
 * mappings in ../problems.ts so a client sees one problem type per cause
 * across the whole API.
 */
const restart = 'Start again with POST /api/sora2/auth/start.';

const sessionChallenge = (description: string): Record<string, string> => ({
  'WWW-Authenticate': `Bearer realm="sora2", error="invalid_token", error_description="${description}"`,
});

export const signInErrorToProblem = (e: SignInError): Problem => {
  switch (e._tag) {
    case 'CodeNotFound':
      return problem(404, 'code-not-found', 'Unknown or expired verification code', `The code is unknown or its 15 minutes are over. ${restart}`);
    case 'CodeNotAuthorized':
      return problem(409, 'code-not-authorized', 'Sign-in not finished', 'Open signInUrl and sign in with Google first, then exchange the code.');
    case 'CodeAlreadyUsed':
      return problem(409, 'code-already-used', 'Verification code already used', `A verification code works once. ${restart}`);
    case 'CodeExpired':
      return problem(410, 'code-expired', 'Verification code expired', `The code's 15 minutes are over. ${restart}`);
    case 'InvalidState':
      return problem(400, 'invalid-state', 'Invalid sign-in state', `The sign-in link is unknown, expired or was already used. ${restart}`);
    case 'SignInDeclined':
      return problem(403, 'sign-in-declined', 'Sign-in declined', `The identity provider answered "${e.error}". ${restart}`, { error: e.error });
    case 'SignInFailed':
      return problem(401, 'sign-in-failed', 'Sign-in failed', e.reason);
    case 'IdentityProviderUnavailable':
      return unavailable('identity-provider-unavailable', 'Identity provider unavailable', e.message, 5000);
    case 'SessionInvalid':
      return withHeaders(
        problem(401, 'session-invalid', 'Session token required', `Send Authorization: Bearer <sessionToken>; the token is missing, unknown, or was revoked. ${restart}`),
        sessionChallenge('unknown session token'),
      );
    case 'SessionExpired':
      return withHeaders(
        problem(401, 'session-expired', 'Session expired', `The session ended at ${new Date(e.expiredAt).toISOString()}. ${restart}`, {
          expiredAt: new Date(e.expiredAt).toISOString(),
        }),
        sessionChallenge('session expired'),
      );
    case 'SessionRevoked':
      return withHeaders(problem(401, 'session-revoked', 'Session revoked', `This session was revoked. ${restart}`), sessionChallenge('session revoked'));
  }
};

export const videoErrorToProblem = (e: VideoError): Problem => {
  switch (e._tag) {
    case 'Forbidden':
      return accessErrorToProblem({ _tag: 'Forbidden', action: e.action, userId: '' });
    case 'InvalidVideoRequest':
      return problem(400, 'unsupported-video-parameters', 'Unsupported video parameters', e.message, {
        field: e.field,
        ...(e.allowed === undefined ? {} : { allowed: e.allowed }),
      });
    case 'InsufficientCredits':
      return gatewayErrorToProblem({ _tag: 'InsufficientCredits', needed: e.needed, available: e.available });
    case 'JobNotFound':
      return problem(404, 'job-not-found', 'Video job not found', 'No job with this id belongs to this session\'s account.', { jobId: e.jobId });
    case 'JobNotCompleted':
      return problem(409, 'job-not-completed', 'Video not ready', `The job is ${e.status}; poll GET /api/sora2/jobs/{id} until it is completed.`, {
        jobId: e.jobId,
        jobStatus: e.status,
      });
    case 'VideoProviderRejected':
      return problem(422, 'video-rejected', 'Video request rejected by the provider', `${e.message} Nothing was charged.`);
    case 'VideoProviderUnavailable':
      return gatewayErrorToProblem({ _tag: 'ProviderUnavailable', message: `${e.message}. Nothing was charged.`, retryable: true });
    case 'ContentUnavailable':
      return problem(502, 'content-unavailable', 'Video content unavailable', e.message, { jobId: e.jobId });
    case 'JobUnpaid':
      return problem(402, 'job-unpaid', 'Video not paid for', 'The job finished after its credit hold had ended and the account could not pay for it; its content is not served.', { jobId: e.jobId });
  }
};

/** Sign-in needs GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET. */
export const signInNotConfigured = (): Problem =>
  unavailable('sign-in-unavailable', 'Sign-in not configured', 'GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set on this server.', 60_000);

const entry = (slug: string, status: number, title: string, description: string): ProblemType => ({ slug, status, title, description });

/** The problem types only the Sora 2 routes answer, for the catalog served at /problems/<slug>. */
export const sora2ProblemTypes: readonly ProblemType[] = [
  entry('code-not-found', 404, 'Unknown or expired verification code', 'The verification code is unknown or its 15 minutes are over. Start again with POST /api/sora2/auth/start.'),
  entry('code-not-authorized', 409, 'Sign-in not finished', 'The user has not finished Google sign-in for this code yet. Ask them to open signInUrl, then exchange the code again.'),
  entry('code-already-used', 409, 'Verification code already used', 'A verification code is exchanged for a session token once. Start again for a new session.'),
  entry('code-expired', 410, 'Verification code expired', 'The code passed its 15 minutes before the exchange.'),
  entry('invalid-state', 400, 'Invalid sign-in state', 'The OAuth state on the callback is unknown, expired or was already used; sign-in links work once.'),
  entry('sign-in-declined', 403, 'Sign-in declined', 'The identity provider reported an error (for example the user declined). `error` is its code.'),
  entry('sign-in-failed', 401, 'Sign-in failed', 'The authorization code was refused or the ID token did not verify (signature, issuer, audience, nonce, expiry).'),
  entry('identity-provider-unavailable', 503, 'Identity provider unavailable', 'Google (discovery, keys or token endpoint) could not be reached; retry shortly.'),
  entry('sign-in-unavailable', 503, 'Sign-in not configured', 'GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set on this server.'),
  entry('session-invalid', 401, 'Session token required', 'The Sora 2 session token is missing, unknown or revoked. Start again with POST /api/sora2/auth/start.'),
  entry('session-expired', 401, 'Session expired', 'The Sora 2 session is past its 24 hours. Start again.'),
  entry('session-revoked', 401, 'Session revoked', 'The Sora 2 session was revoked. Start again.'),
  entry('unsupported-video-parameters', 400, 'Unsupported video parameters', 'Sora 2 does not offer this duration, resolution or model, or the prompt is empty or too long; `allowed` lists what is offered.'),
  entry('job-not-found', 404, 'Video job not found', 'No job with this id belongs to the session\'s account.'),
  entry('job-not-completed', 409, 'Video not ready', 'The job has not completed (see `jobStatus`); poll the job until it is completed.'),
  entry('video-rejected', 422, 'Video request rejected by the provider', 'The provider refused the prompt or parameters. Nothing was charged.'),
  entry('content-unavailable', 502, 'Video content unavailable', 'The provider no longer has the video content.'),
  entry('job-unpaid', 402, 'Video not paid for', 'The job finished after its credit hold had ended (the service was down longer than the hold) and the account did not have the credits to pay for it then; its content is not served.'),
];
