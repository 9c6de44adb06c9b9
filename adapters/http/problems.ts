import Boom from '@hapi/boom';
import type { Lifecycle, Request, ResponseToolkit } from '@hapi/hapi';
import { isLimiterUnavailable } from '../../application/ports/rateLimiter.js';
import { isStoreUnavailable } from '../../application/ports/sessionStore.js';
import { isEventStoreUnavailable } from '../../application/storeOutage.js';
import { noteOutage } from './requestLog.js';
import type { AuthError } from '../../application/ports/tokenVerifier.js';
import type { AccessError } from '../../application/permissions/access.js';
import type { GatewayError } from '../../application/gateway/errors.js';
import type { CreditAccountError } from '../../domain/creditAccount/errors.js';

/**
 * RFC 9457 problem details: every error the REST API answers is an
 * `application/problem+json` body `{type, title, status, detail, instance, ...}`.
 *
 * This file is the one place that maps domain and port errors to HTTP. Route
 * handlers return or throw `problem(...)` (a Boom carrying the problem in
 * `data`); the `onPreResponse` extension in problemResponse.ts renders every
 * Boom, including hapi's own 404/405/413/415/400, as problem+json.
 *
 * `type` is a relative URI reference `/problems/<slug>` (resolved against the
 * API's own origin): the server serves a short description of each slug at
 * that path, so a type is dereferenceable wherever the API is deployed, and
 * clients can switch on the slug alone.
 */
export const PROBLEM_TYPE_PREFIX = '/problems/';
export const problemTypeUri = (slug: string): string => `${PROBLEM_TYPE_PREFIX}${slug}`;

export type ProblemData = {
  readonly slug: string;
  readonly title: string;
  readonly detail?: string;
  /** Extension members (RFC 9457 section 3.2), merged into the body. */
  readonly extra?: Readonly<Record<string, unknown>>;
};

export type Problem = Boom.Boom<ProblemData>;

const problemKey = Symbol.for('credit-ledger.problem');

/**
 * A problem response as a Boom. `type` is a short slug ("insufficient-credits");
 * it is rendered as `/problems/<slug>`. Throw it or return it from a handler.
 */
export const problem = (
  status: number,
  type: string,
  title: string,
  detail?: string,
  extra?: Record<string, unknown>,
): Problem => {
  const data: ProblemData = { slug: type, title, ...(detail === undefined ? {} : { detail }), ...(extra === undefined ? {} : { extra }) };
  const boom = new Boom.Boom<ProblemData>(detail ?? title, { statusCode: status, data });
  // Also kept under a symbol: hapi's validation failure path replaces `data` (Boom.boomify with data).
  Object.defineProperty(boom, problemKey, { value: data, enumerable: false });
  return boom;
};

/** Adds response headers (Retry-After, WWW-Authenticate...) to a problem; returns the same Boom. */
export const withHeaders = <B extends Boom.Boom>(boom: B, headers: Readonly<Record<string, string>>): B => {
  Object.assign(boom.output.headers, headers);
  return boom;
};

/** Whole seconds for a Retry-After header, at least 1. */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

/** 429 with Retry-After, for any rate limit. */
export const rateLimited = (retryAfterMs: number, extra: Record<string, unknown> = {}): Problem =>
  withHeaders(
    problem(429, 'rate-limited', 'Too many requests', `Rate limit exceeded; retry in ${retryAfterSeconds(retryAfterMs)} s.`, {
      retryAfterMs,
      ...extra,
    }),
    { 'Retry-After': retryAfterSeconds(retryAfterMs) },
  );

/** 503 for a dependency that is down (Redis, JWKS); the client may retry shortly. */
export const unavailable = (slug: string, title: string, detail: string, retryAfterMs = 1000): Problem =>
  withHeaders(problem(503, slug, title, detail), { 'Retry-After': retryAfterSeconds(retryAfterMs) });

/** The one mapping of ledger refusals to HTTP. */
export const creditErrorToProblem = (e: CreditAccountError): Problem => {
  switch (e._tag) {
    case 'InvalidAmount':
      return problem(400, 'invalid-amount', 'Invalid amount', `Amounts are positive safe integers (${e.reason}).`, { reason: e.reason });
    case 'InvalidExpiry':
      return problem(400, 'invalid-expiry', 'Invalid expiry', 'expiresAt must be in the future.', {
        expiresAt: new Date(e.expiresAt).toISOString(),
      });
    case 'InvalidId':
      return problem(400, 'invalid-id', 'Invalid id', `${e.field} must be 1 to 200 characters.`, { field: e.field });
    case 'InvalidPriority':
      return problem(400, 'invalid-priority', 'Invalid priority', 'A grant priority is an integer (higher is spent first).');
    case 'AccountNotOpen':
      return problem(404, 'account-not-found', 'Account not found', `Account ${e.accountId} has no history.`, { accountId: e.accountId });
    case 'InsufficientCredits':
      return problem(402, 'insufficient-credits', 'Insufficient credits', `Requested ${e.requested}, available ${e.available}.`, {
        requested: e.requested,
        available: e.available,
      });
    case 'IdConflict':
      return problem(409, 'id-conflict', 'Id already used with other inputs', `The ${e.kind} id was first used with a different ${e.field}.`, {
        kind: e.kind,
        id: e.id,
        field: e.field,
      });
    case 'ReservationNotFound':
      return problem(404, 'reservation-not-found', 'Reservation not found', undefined, { reservationId: e.reservationId });
    case 'ReservationAlreadyResolved':
      return problem(409, 'reservation-resolved', 'Reservation already resolved', `The hold is already ${e.status}.`, {
        reservationId: e.reservationId,
        reservationStatus: e.status,
      });
    case 'ReservationNotExpired':
      return problem(409, 'reservation-not-expired', 'Reservation not expired', undefined, { reservationId: e.reservationId });
    case 'ChargeExceedsHold':
      return problem(422, 'charge-exceeds-hold', 'Charge exceeds hold', `Charge ${e.charge} is more than the hold of ${e.hold}.`, {
        reservationId: e.reservationId,
        charge: e.charge,
        hold: e.hold,
      });
    case 'DeductionNotFound':
      return problem(404, 'deduction-not-found', 'Deduction not found', undefined, { deductionId: e.deductionId });
    case 'RefundExceedsDeduction':
      return problem(422, 'refund-exceeds-deduction', 'Refund exceeds deduction', undefined, {
        deductionId: e.deductionId,
        requested: e.requested,
        refundable: e.refundable,
      });
    case 'ProgressRegressed':
      return problem(422, 'progress-regressed', 'Charge below recorded progress', `Charge ${e.charge} is below the ${e.recorded} already recorded.`, {
        reservationId: e.reservationId,
        charge: e.charge,
        recorded: e.recorded,
      });
    case 'ReservationExpiredAlready':
      return problem(409, 'reservation-expired', 'Reservation expired', 'The hold is past its expiry and cannot be extended.', {
        reservationId: e.reservationId,
        expiresAt: new Date(e.expiresAt).toISOString(),
      });
    case 'SettlementNotFound':
      return problem(404, 'settlement-not-found', 'Settlement not found', undefined, { reservationId: e.reservationId });
    case 'RefundExceedsSettlement':
      return problem(422, 'refund-exceeds-settlement', 'Refund exceeds settlement', undefined, {
        reservationId: e.reservationId,
        requested: e.requested,
        refundable: e.refundable,
      });
  }
};

/** The one mapping of gateway (metered request) failures to HTTP. */
export const gatewayErrorToProblem = (e: GatewayError): Problem => {
  switch (e._tag) {
    case 'InvalidRequest':
      return problem(400, 'invalid-request', 'Invalid request', e.message);
    case 'Forbidden':
      return problem(403, 'forbidden', 'Forbidden', `Permission ${e.action} is required.`, { action: e.action });
    case 'RateLimited':
      return e.retryable
        ? rateLimited(e.retryAfterMs, { limit: e.limit, retryable: true })
        : problem(429, 'rate-limited', 'Too many requests', `The request alone exceeds the ${e.limit} limit per window.`, {
            limit: e.limit,
            retryable: false,
          });
    case 'LimiterUnavailable':
      return unavailable('rate-limiter-unavailable', 'Rate limiter unavailable', e.message);
    case 'InsufficientCredits':
      return problem(402, 'insufficient-credits', 'Insufficient credits', `Requested ${e.needed}, available ${e.available}.`, {
        requested: e.needed,
        available: e.available,
      });
    case 'ProviderError':
      return problem(502, 'provider-error', 'Provider error', e.message, {
        retryable: e.retryable,
        ...(e.settled === undefined ? {} : { settled: e.settled }),
      });
    case 'ProviderUnavailable':
      return withHeaders(
        problem(503, 'provider-unavailable', 'Provider unavailable', e.message, {
          retryable: e.retryable,
          ...(e.settled === undefined ? {} : { settled: e.settled }),
        }),
        { 'Retry-After': '5' },
      );
  }
};

const bearerChallenge = (error?: string, description?: string): string =>
  ['Bearer realm="credit-ledger"', ...(error === undefined ? [] : [`error="${error}"`]), ...(description === undefined ? [] : [`error_description="${description.replace(/"/g, "'")}"`])].join(', ');

/** Token verification failures: 401 with an RFC 6750 challenge, or 503 when the signing keys are unreachable. */
export const authErrorToProblem = (e: AuthError): Problem => {
  switch (e._tag) {
    case 'TokenMissing':
      return withHeaders(problem(401, 'unauthorized', 'Authentication required', 'Send Authorization: Bearer <JWT>.'), {
        'WWW-Authenticate': bearerChallenge(),
      });
    case 'TokenInvalid':
      return withHeaders(problem(401, 'invalid-token', 'Invalid token', e.reason), {
        'WWW-Authenticate': bearerChallenge('invalid_token', e.reason),
      });
    case 'TokenExpired':
      return withHeaders(
        problem(401, 'token-expired', 'Token expired', 'The bearer token has expired.', {
          ...(e.expiredAt === undefined ? {} : { expiredAt: new Date(e.expiredAt).toISOString() }),
        }),
        { 'WWW-Authenticate': bearerChallenge('invalid_token', 'token expired') },
      );
    case 'KeysUnavailable':
      return withCause(unavailable('auth-unavailable', 'Token verification unavailable', 'The signing keys cannot be fetched right now.', 5000), e.reason);
  }
};

/** Permission refusals and permission-command errors. */
export const accessErrorToProblem = (e: AccessError): Problem => {
  switch (e._tag) {
    case 'Forbidden':
      return problem(403, 'forbidden', 'Forbidden', `Permission ${e.action} is required.`, { action: e.action });
    case 'UnknownRole':
      return problem(400, 'invalid-request', 'Invalid request', `Unknown role ${e.role}.`);
    case 'UnknownAction':
      return problem(400, 'invalid-request', 'Invalid request', `Unknown action ${e.action}.`);
    case 'InvalidCommand':
      return problem(400, 'invalid-request', 'Invalid request', `${e.field} is ${e.problem}.`);
  }
};

/** One line per validation failure: where and what. */
export type FieldError = { readonly path: string; readonly message: string };

/** 400 for a payload, path or query that does not decode. */
export const validationProblem = (where: 'payload' | 'query' | 'params' | 'headers', errors: readonly FieldError[]): Problem =>
  problem(400, 'validation-failed', 'Request validation failed', `The request ${where} is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, {
    in: where,
    errors,
  });

/** Slugs for errors hapi raises itself (routing, payload parsing, timeouts) and for unexpected ones. */
const statusSlugs: Readonly<Record<number, string>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  408: 'request-timeout',
  409: 'conflict',
  411: 'length-required',
  413: 'payload-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  422: 'unprocessable-content',
  429: 'rate-limited',
  500: 'internal-error',
  501: 'not-implemented',
  502: 'bad-gateway',
  503: 'service-unavailable',
  504: 'gateway-timeout',
};

export type ProblemBody = {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance: string;
  readonly [extension: string]: unknown;
};

const causeKey = Symbol('outage cause');

/**
 * Keeps, on a 503's Boom, what the client is not told (the driver's message:
 * "connect ECONNREFUSED 10.0.0.5:6379"): the request log gives it to the
 * operator (requestLog.ts `noteOutage`). Outages thrown from ports carry it as
 * their own message.
 */
export const withCause = <B extends Boom.Boom>(boom: B, cause: unknown): B =>
  Object.assign(boom, { [causeKey]: cause instanceof Error ? cause.message : String(cause) });

/**
 * Outages thrown from ports (not returned) become 503s here, so a handler
 * never needs a try/catch just to say "Redis is down".
 */
const fromThrown = (boom: Boom.Boom): Problem | undefined => {
  if (isEventStoreUnavailable(boom)) return unavailable('event-store-unavailable', 'Event store unavailable', 'The ledger\'s event store does not answer; retry the same request after Retry-After.', 2000);
  if (isStoreUnavailable(boom)) return unavailable('session-store-unavailable', 'Session store unavailable', 'The session store (Redis) is unreachable; retry shortly.');
  if (isLimiterUnavailable(boom)) return unavailable('rate-limiter-unavailable', 'Rate limiter unavailable', 'The rate limiter (Redis) is unreachable; retry shortly.');
  return undefined;
};

const reservedMembers = new Set(['type', 'title', 'status', 'detail', 'instance']);

const isProblemData = (data: unknown): data is ProblemData =>
  typeof data === 'object' && data !== null && typeof (data as { slug?: unknown }).slug === 'string' && typeof (data as { title?: unknown }).title === 'string';

/** The problem+json body for any Boom: ours carry ProblemData, hapi's are described from their status. */
export const problemBody = (boom: Boom.Boom, instance: string): ProblemBody => {
  const status = boom.output.statusCode;
  const instanceMember = { instance };
  const data: unknown = (boom as unknown as Record<symbol, unknown>)[problemKey] ?? boom.data;
  if (isProblemData(data)) {
    const { slug, title, detail, extra } = data;
    // Standard members first (readable), and an extension can never overwrite one of them.
    const extensions = Object.fromEntries(Object.entries(extra ?? {}).filter(([k]) => !reservedMembers.has(k)));
    return { type: problemTypeUri(slug), title, status, ...(detail === undefined ? {} : { detail }), ...instanceMember, ...extensions };
  }
  // Boom already replaces the message of 5xx errors with a generic one, so internals never leak here.
  const { error, message } = boom.output.payload;
  const detail = message !== '' && message !== error ? message : undefined;
  return { type: problemTypeUri(statusSlugs[status] ?? (status >= 500 ? 'internal-error' : 'bad-request')), title: error, status, ...(detail === undefined ? {} : { detail }), ...instanceMember };
};

/** Response headers that must not be copied from a Boom onto the rendered problem. */
const skippedHeaders = new Set(['content-type', 'content-length']);

/**
 * The `onPreResponse` extension: renders every Boom as application/problem+json
 * (with its headers: Retry-After, WWW-Authenticate, Allow) and lets other
 * responses through.
 */
export const renderProblems: Lifecycle.Method = (request: Request, h: ResponseToolkit) => {
  const response = request.response;
  if (!Boom.isBoom(response)) return h.continue;
  const outage = fromThrown(response);
  const cause = outage === undefined ? (response as Boom.Boom & { [causeKey]?: string })[causeKey] : response.message;
  if (cause !== undefined) noteOutage(request, cause);
  const boom = outage ?? response;
  const body = problemBody(boom, request.path);
  const rendered = h.response(body).code(body.status).type('application/problem+json');
  for (const [name, value] of Object.entries(boom.output.headers)) {
    if (value !== undefined && !skippedHeaders.has(name.toLowerCase())) rendered.header(name, Array.isArray(value) ? value.join(', ') : String(value));
  }
  return rendered;
};
