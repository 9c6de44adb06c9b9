import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { KeyView } from '../../../application/apiKeys/keys.js';
import type { ApiKeyError } from '../../../domain/apiKey/index.js';
import type { App } from '../../app.js';
import { authorizeAccount, credentialsOf } from '../auth.js';
import { commonProblems, problemResponse } from '../openapi.js';
import { problem } from '../problems.js';
import type { RouteDefinition } from '../route.js';
import { defineRoute } from '../route.js';
import { UserId } from '../schema.js';

/**
 * Managing API keys over REST (JWT callers): a user manages the keys of their
 * own account; keys on any other account (a shared team account) need
 * credits:grant, the admin's permission. The secret is in the create and
 * rotate answers only; it is never stored or shown again.
 */
const Positive = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n > 0, 'PositiveInteger');
const Name = t.refinement(t.string, (s) => s.trim().length > 0 && s.length <= 200, 'Name');
const Model = t.refinement(t.string, (s) => s.length > 0 && s.length <= 200, 'Model');

export const CreateKeyBody = t.partial({
  accountId: UserId,
  name: Name,
  limit: Positive,
  period: t.keyof({ total: null, day: null, month: null }),
  models: t.refinement(t.array(Model), (m) => m.length >= 1 && m.length <= 100, 'Models'),
  requestsPerMin: Positive,
  tokensPerMin: Positive,
});
const KeyParams = t.type({ keyId: t.refinement(t.string, (s) => /^[0-9a-f]{24}$/.test(s), 'KeyId') });
const ListQuery = t.partial({ accountId: UserId });

const keySchema = { type: 'object', description: 'An API key as listed (never the secret).', additionalProperties: true };
const secretSchema = { type: 'object', required: ['key', 'secret'], properties: { key: keySchema, secret: { type: 'string', description: 'Shown once.' } } };

export const keyErrorToProblem = (error: ApiKeyError | { _tag: 'TooManyKeys'; max: number }) => {
  switch (error._tag) {
    case 'KeyNotFound':
      return problem(404, 'not-found', 'API key not found');
    case 'KeyRevoked':
      return problem(400, 'invalid-request', 'API key revoked', 'A revoked key cannot be rotated.');
    case 'TooManyKeys':
      return problem(400, 'invalid-request', 'Too many keys', `An account may have at most ${error.max} keys.`);
    default:
      return problem(400, 'validation-failed', 'Invalid key settings', error._tag);
  }
};

const ownerCheck = async (app: App, request: Parameters<typeof credentialsOf>[0], keyId: string): Promise<KeyView> => {
  const key = await app.keys.describe(keyId);
  if (key === undefined) throw problem(404, 'not-found', 'API key not found');
  await authorizeAccount(app.access, credentialsOf(request), key.accountId, 'credits:grant');
  return key;
};

export const apiKeyRoutes = (app: App): RouteDefinition[] => [
  defineRoute({
    method: 'POST',
    path: '/api/keys',
    operationId: 'createApiKey',
    summary: 'Create an API key',
    description: 'Creates a key on your account (or, with credits:grant, on any account such as a team account), with an optional credit limit (total, per day or per month, UTC), a model allow-list and its own rate limits. The secret is returned once.',
    tags: ['keys'],
    security: ['bearerJwt'],
    payload: CreateKeyBody,
    responses: { '201': { description: 'The key and its secret (shown once).', schema: secretSchema }, ...commonProblems(), '403': problemResponse('Another account was named without credits:grant.') },
    handler: async ({ payload, request, h }) => {
      const caller = credentialsOf(request);
      const accountId = payload.accountId ?? caller.userId;
      await authorizeAccount(app.access, caller, accountId, 'credits:grant');
      const rate = payload.requestsPerMin !== undefined || payload.tokensPerMin !== undefined ? { requestsPerMin: payload.requestsPerMin ?? 60, tokensPerMin: payload.tokensPerMin ?? 1_000_000 } : undefined;
      const created = await app.keys.create({
        accountId,
        ...(payload.name === undefined ? {} : { name: payload.name }),
        ...(payload.limit === undefined ? {} : { limit: { credits: payload.limit, period: payload.period ?? 'total' } }),
        ...(payload.models === undefined ? {} : { models: payload.models }),
        ...(rate === undefined ? {} : { rateLimits: rate }),
      });
      if (E.isLeft(created)) throw keyErrorToProblem(created.left);
      return h.response(created.right).code(201).header('cache-control', 'no-store');
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/keys',
    operationId: 'listApiKeys',
    summary: 'List the API keys of an account',
    description: 'Your account\'s keys, or any account\'s with credits:grant; with their spend in the current period and open holds.',
    tags: ['keys'],
    security: ['bearerJwt'],
    query: ListQuery,
    responses: { '200': { description: 'The keys.', schema: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } } }, ...commonProblems() },
    handler: async ({ query, request }) => {
      const caller = credentialsOf(request);
      const accountId = query.accountId ?? caller.userId;
      await authorizeAccount(app.access, caller, accountId, 'credits:grant');
      return { accountId, keys: await app.keys.list(accountId) };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/api/keys/{keyId}',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key',
    description: 'Refused on every port from the next request on, by every instance sharing the store. Requests already running settle normally.',
    tags: ['keys'],
    security: ['bearerJwt'],
    params: KeyParams,
    responses: { '200': { description: 'The revoked key.', schema: keySchema }, '404': problemResponse('No such key.'), ...commonProblems() },
    handler: async ({ params, request }) => {
      await ownerCheck(app, request, params.keyId);
      const revoked = await app.keys.revoke(params.keyId, `revoked by ${credentialsOf(request).userId}`);
      if (E.isLeft(revoked)) throw keyErrorToProblem(revoked.left);
      return revoked.right ?? {};
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/keys/{keyId}/rotate',
    operationId: 'rotateApiKey',
    summary: 'Rotate an API key\'s secret',
    description: 'A new secret replaces the old one at once; limit, spend and holds stay with the key. The new secret is returned once.',
    tags: ['keys'],
    security: ['bearerJwt'],
    params: KeyParams,
    responses: { '200': { description: 'The key and its new secret.', schema: secretSchema }, '404': problemResponse('No such key.'), '400': problemResponse('The key is revoked.'), ...commonProblems() },
    handler: async ({ params, request, h }) => {
      await ownerCheck(app, request, params.keyId);
      const rotated = await app.keys.rotate(params.keyId);
      if (E.isLeft(rotated)) throw keyErrorToProblem(rotated.left);
      return h.response(rotated.right).header('cache-control', 'no-store');
    },
  }),
];
