import type { Server } from '@hapi/hapi';
import type { App } from '../../app.js';
import { makeCallerAuth } from '../../auth/apiKeyAuth.js';
import type { RouteSpec } from '../openapi.js';
import { anthropicRoutes } from './anthropic.js';
import { openAiRoutes } from './openai.js';

/**
 * The OpenAI- and Anthropic-compatible endpoints. They authenticate in the
 * handler (API key or JWT) rather than through a hapi strategy, because a
 * refusal must be in the provider's error shape, not problem+json.
 */
export const registerCompat = (server: Server, app: App): void => {
  const auth = makeCallerAuth({ keys: app.keys, verifier: app.verifier });
  server.route([...openAiRoutes(app, auth), ...anthropicRoutes(app, auth)]);
};

const openAiErrorSchema = {
  type: 'object',
  description: 'OpenAI error shape.',
  properties: { error: { type: 'object', properties: { message: { type: 'string' }, type: { type: 'string' }, code: { type: ['string', 'null'] } } } },
};
const anthropicErrorSchema = {
  type: 'object',
  description: 'Anthropic error shape.',
  properties: { type: { const: 'error' }, error: { type: 'object', properties: { type: { type: 'string' }, message: { type: 'string' } } } },
};
const openAiErrors = {
  '400': { description: 'invalid_request_error', schema: openAiErrorSchema },
  '401': { description: 'invalid_api_key: missing, unknown or revoked key (or bad JWT).', schema: openAiErrorSchema },
  '403': { description: 'The key may not use this model, or the account may not use LLMs.', schema: openAiErrorSchema },
  '429': { description: 'insufficient_quota (account or key limit; not retried) or rate_limit_exceeded (see Retry-After).', schema: openAiErrorSchema },
  '503': { description: 'Provider or rate limiter unavailable.', schema: openAiErrorSchema },
};

export const compatRouteSpecs: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: '/v1/chat/completions',
    operationId: 'openaiChatCompletions',
    summary: 'OpenAI-compatible chat completion (streaming or not)',
    description:
      'The OpenAI Chat Completions API, metered like the WebSocket path (permission, rate limit, hold, fallback, settle). Point the `openai` SDK here with `baseURL: <server>/v1` and an API key. `stream: true` answers OpenAI\'s SSE chunks; `stream_options.include_usage` adds the usage chunk.',
    tags: ['compatible'],
    security: ['apiKey', 'bearerJwt'],
    requestBody: { description: 'OpenAI chat completion request (text messages).', schema: { type: 'object', required: ['model', 'messages'], additionalProperties: true } },
    responses: { '200': { description: 'chat.completion, or text/event-stream of chat.completion.chunk.', schema: { type: 'object', additionalProperties: true } }, ...openAiErrors },
  },
  {
    method: 'GET',
    path: '/v1/models',
    operationId: 'openaiListModels',
    summary: 'Models of the price sheet (OpenAI list shape)',
    description: 'Every model the gateway prices (only those a key allows). With an `anthropic-version` header, the Claude models in Anthropic\'s list shape.',
    tags: ['compatible'],
    security: ['apiKey', 'bearerJwt'],
    responses: { '200': { description: 'The model list.', schema: { type: 'object', additionalProperties: true } }, '401': openAiErrors['401'] },
  },
  {
    method: 'POST',
    path: '/v1/messages',
    operationId: 'anthropicMessages',
    summary: 'Anthropic-compatible Messages API (streaming or not)',
    description:
      'The Anthropic Messages API, metered like the WebSocket path. Point `@anthropic-ai/sdk` here with `baseURL: <server>` and an API key (x-api-key). Out of credit answers 400 invalid_request_error "Your credit balance is too low", as Anthropic does.',
    tags: ['compatible'],
    security: ['apiKey', 'bearerJwt'],
    requestBody: { description: 'Anthropic Messages request (text content).', schema: { type: 'object', required: ['model', 'max_tokens', 'messages'], additionalProperties: true } },
    responses: {
      '200': { description: 'A message, or text/event-stream of Anthropic stream events.', schema: { type: 'object', additionalProperties: true } },
      '400': { description: 'invalid_request_error (including a balance or key limit too low).', schema: anthropicErrorSchema },
      '401': { description: 'authentication_error', schema: anthropicErrorSchema },
      '403': { description: 'permission_error', schema: anthropicErrorSchema },
      '429': { description: 'rate_limit_error (see Retry-After).', schema: anthropicErrorSchema },
      '529': { description: 'overloaded_error: provider unavailable.', schema: anthropicErrorSchema },
    },
  },
];
