import type { KeyedError } from '../../../application/apiKeys/meteredWithKey.js';
import type { CallerError } from '../../auth/apiKeyAuth.js';

/**
 * Errors in each provider's own shape and status, so client code written
 * for OpenAI or Anthropic handles ours unchanged (the SDKs pick their error
 * class from the status). Refusals that waiting cannot fix carry
 * `x-should-retry: false`, which both SDKs obey instead of retrying a 429.
 */
export type WireError = {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
};

type Kind = 'auth' | 'unavailable_auth' | 'forbidden' | 'not_found' | 'invalid' | 'no_credit' | 'rate' | 'unavailable' | 'provider';

type Classified = { readonly kind: Kind; readonly message: string; readonly retryAfterMs?: number; readonly retryable?: boolean; readonly rateLimit?: string };

export const classifyCaller = (error: CallerError): Classified => {
  switch (error._tag) {
    case 'KeysUnavailable':
      return { kind: 'unavailable_auth', message: 'Signing keys are unavailable; try again shortly.' };
    case 'TokenMissing':
      return { kind: 'auth', message: 'You did not provide an API key. Send it as Authorization: Bearer <key> or x-api-key.' };
    case 'KeyRevoked':
      return { kind: 'auth', message: 'This API key has been revoked.' };
    default:
      return { kind: 'auth', message: 'Incorrect API key provided.' };
  }
};

/** What a compatible request can end in: the metered use case's refusals, or a store outage met on the way. */
export type CompatError = KeyedError | { readonly _tag: 'StoreUnavailable' };

export const classifyCompletion = (error: CompatError): Classified => {
  switch (error._tag) {
    case 'StoreUnavailable':
      return { kind: 'unavailable', message: 'The ledger is unavailable; try again shortly.', retryAfterMs: 2000 };
    case 'InvalidRequest':
      return { kind: error.message.startsWith('unknown model') ? 'not_found' : 'invalid', message: error.message };
    case 'Forbidden':
      return { kind: 'forbidden', message: `This account may not ${error.action}.` };
    case 'ModelNotAllowed':
      return { kind: 'forbidden', message: `This API key may not use the model "${error.model}".` };
    case 'KeyRevoked':
      return { kind: 'auth', message: 'This API key has been revoked.' };
    case 'InsufficientCredits':
      return { kind: 'no_credit', message: `Not enough credits: this request may cost up to ${error.needed}, ${error.available} available.` };
    case 'KeyLimitReached':
      return { kind: 'no_credit', message: `This API key reached its credit limit: the request may cost up to ${error.needed}, ${error.available} left in the period.` };
    case 'RateLimited':
      return { kind: 'rate', message: `Rate limit reached (${error.limit}).`, retryAfterMs: error.retryAfterMs, retryable: error.retryable, rateLimit: error.limit };
    case 'LimiterUnavailable':
      return { kind: 'unavailable', message: 'The rate limiter is unavailable; try again shortly.', retryAfterMs: 5000 };
    case 'ProviderUnavailable':
      return { kind: 'unavailable', message: error.message, retryAfterMs: 5000 };
    case 'ProviderError':
      return { kind: 'provider', message: error.message, retryable: error.retryable };
  }
};

const retryHeaders = (c: Classified): Record<string, string> => {
  const headers: Record<string, string> = {};
  if (c.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(c.retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(Math.max(0, Math.ceil(c.retryAfterMs)));
  }
  if (c.kind === 'no_credit' || c.retryable === false || c.kind === 'auth' || c.kind === 'forbidden' || c.kind === 'invalid' || c.kind === 'not_found') headers['x-should-retry'] = 'false';
  return headers;
};

const openAiOf: Record<Kind, { status: number; type: string; code: string | null }> = {
  auth: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  unavailable_auth: { status: 503, type: 'server_error', code: 'service_unavailable' },
  forbidden: { status: 403, type: 'invalid_request_error', code: 'model_not_allowed' },
  not_found: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  invalid: { status: 400, type: 'invalid_request_error', code: null },
  no_credit: { status: 429, type: 'insufficient_quota', code: 'insufficient_quota' },
  rate: { status: 429, type: 'requests', code: 'rate_limit_exceeded' },
  unavailable: { status: 503, type: 'server_error', code: 'service_unavailable' },
  provider: { status: 502, type: 'server_error', code: null },
};

export const openAiError = (c: Classified): WireError => {
  const shape = openAiOf[c.kind];
  const type = c.kind === 'rate' && c.rateLimit === 'tokens' ? 'tokens' : shape.type;
  const code = c.kind === 'forbidden' && !c.message.includes('model') ? 'permission_denied' : shape.code;
  return { status: shape.status, body: { error: { message: c.message, type, param: null, code } }, headers: retryHeaders(c) };
};

const anthropicOf: Record<Kind, { status: number; type: string }> = {
  auth: { status: 401, type: 'authentication_error' },
  unavailable_auth: { status: 503, type: 'api_error' },
  forbidden: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'not_found_error' },
  invalid: { status: 400, type: 'invalid_request_error' },
  // Anthropic itself answers an empty balance with a 400, not a 402 or 429.
  no_credit: { status: 400, type: 'invalid_request_error' },
  rate: { status: 429, type: 'rate_limit_error' },
  unavailable: { status: 529, type: 'overloaded_error' },
  provider: { status: 500, type: 'api_error' },
};

export const anthropicError = (c: Classified): WireError => {
  const shape = anthropicOf[c.kind];
  const message = c.kind === 'no_credit' ? `Your credit balance is too low to access this model. ${c.message}` : c.message;
  return { status: shape.status, body: { type: 'error', error: { type: shape.type, message } }, headers: retryHeaders(c) };
};

/** The in-stream error event bodies, for a failure after the answer has begun. */
export const openAiStreamError = (c: Classified) => ({ error: { message: c.message, type: openAiOf[c.kind].type, param: null, code: openAiOf[c.kind].code } });
export const anthropicStreamError = (c: Classified) => ({ type: 'error', error: { type: anthropicOf[c.kind].type, message: c.message } });
