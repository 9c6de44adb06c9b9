import * as E from 'fp-ts/lib/Either.js';
import { balanceAt, history } from '../../../application/credits/queries.js';
import { authorizeAccount, credentialsOf } from '../auth.js';
import { ledgerIdFor } from '../idempotency.js';
import { commonProblems, problemResponse } from '../openapi.js';
import { creditErrorToProblem } from '../problems.js';
import type { RouteDefinition } from '../route.js';
import { defineRoute } from '../route.js';
import { decodeInput } from '../schema.js';
import { AccountParams, BalanceAtQuery, BalanceAtSchema, BalanceSchema, GrantBody, GrantSchema, HistoryQuery, HistorySchema, IdempotencyKey } from './codecs.js';
import type { CreditsDeps } from './spend.js';
import { grantReceipt } from '../ledger/receipts.js';

/** Reading an account (balance, history, balance at an instant) and granting credits to it. */

const readProblems = () => ({
  ...commonProblems(),
  '403': problemResponse('Another account was named without credits:read-any.'),
});

const balanceRoute = ({ app }: CreditsDeps): RouteDefinition =>
  defineRoute({
    method: 'GET',
    path: '/api/credits/{userId}',
    operationId: 'getBalance',
    summary: 'Balance of an account',
    description: 'The balance, held and available credits of an account: your own, or any with credits:read-any. An account with no history has zeros.',
    tags: ['credits'],
    security: ['bearerJwt'],
    params: AccountParams,
    responses: { '200': { description: 'Current balances.', schema: BalanceSchema }, ...readProblems() },
    handler: async ({ params, request }) => {
      await authorizeAccount(app.access, credentialsOf(request), params.userId, 'credits:read-any');
      const view = await app.ledger.balance(params.userId);
      return { userId: params.userId, balance: view.balance, held: view.held, available: view.available };
    },
  });

const historyRoute = ({ app }: CreditsDeps): RouteDefinition =>
  defineRoute({
    method: 'GET',
    path: '/api/credits/{userId}/history',
    operationId: 'getHistory',
    summary: 'Ledger history of an account (paged)',
    description: 'The account\'s ledger events, oldest first, one page at a time. Follow `next` (also sent as a Link header) until it is absent.',
    tags: ['credits'],
    security: ['bearerJwt'],
    params: AccountParams,
    query: HistoryQuery,
    responses: { '200': { description: 'One page of events.', schema: HistorySchema }, ...readProblems() },
    handler: async ({ params, query, request, h }) => {
      await authorizeAccount(app.access, credentialsOf(request), params.userId, 'credits:read-any');
      const limit = query.limit ?? 50;
      const page = await history(app.store, params.userId, { fromRevision: query.fromRevision ?? 0, limit });
      const next =
        page.nextFromRevision === undefined
          ? undefined
          : `/api/credits/${encodeURIComponent(params.userId)}/history?fromRevision=${page.nextFromRevision}&limit=${limit}`;
      const body = {
        userId: params.userId,
        items: page.items.map((e) => ({ revision: e.revision, type: e.type, at: new Date(e.data.at).toISOString(), data: e.data, hash: e.hash })),
        ...(next === undefined ? {} : { next }),
      };
      const response = h.response(body);
      if (next !== undefined) response.header('Link', `<${next}>; rel="next"`);
      return response;
    },
  });

const balanceAtRoute = ({ app }: CreditsDeps): RouteDefinition =>
  defineRoute({
    method: 'GET',
    path: '/api/credits/{userId}/balance',
    operationId: 'getBalanceAt',
    summary: 'Balance of an account at a past instant',
    description: 'Replays the account\'s history up to `at` and returns the balances as they were then (for audits and disputes).',
    tags: ['credits'],
    security: ['bearerJwt'],
    params: AccountParams,
    query: BalanceAtQuery,
    responses: { '200': { description: 'Balances at that instant.', schema: BalanceAtSchema }, ...readProblems() },
    handler: async ({ params, query, request }) => {
      await authorizeAccount(app.access, credentialsOf(request), params.userId, 'credits:read-any');
      const view = await balanceAt(app.store, params.userId, query.at);
      return { userId: params.userId, at: new Date(query.at).toISOString(), revision: view.revision, balance: view.balance, held: view.held, available: view.available };
    },
  });

/** Without a grantId, an Idempotency-Key header makes the grant repeatable; with neither, each call is a new grant. */
const grantIdOf = (deps: CreditsDeps, callerId: string, given: string | undefined, header: unknown): string => {
  if (given !== undefined) return given;
  if (header === undefined) return `grant:${deps.app.ids.newId()}`;
  const key = decodeInput(IdempotencyKey, 'headers', header);
  if (E.isLeft(key)) throw key.left;
  return ledgerIdFor('grant', callerId, key.right);
};

const grantRoute = (deps: CreditsDeps): RouteDefinition =>
  defineRoute({
    method: 'POST',
    path: '/api/credits/{userId}/grants',
    operationId: 'grantCredits',
    summary: 'Grant credits (admins)',
    description: 'Adds credits to an account, opening it if new. Needs credits:grant. Idempotent by `grantId` (or the Idempotency-Key header): a repeat changes nothing; another amount with the same id is 409.',
    tags: ['credits', 'admin'],
    security: ['bearerJwt'],
    params: AccountParams,
    payload: GrantBody,
    payloadExample: { credits: 1000, grantId: 'welcome-2025-10', reason: 'welcome bonus' },
    maxBytes: deps.app.config.HTTP_MAX_BODY_BYTES,
    responses: {
      '201': { description: 'Granted; the balances after the grant.', schema: GrantSchema },
      '200': { description: 'This grant id was already applied; nothing changed (`duplicate: true`).', schema: GrantSchema },
      ...commonProblems(),
      '403': problemResponse('The caller lacks credits:grant.'),
      '409': problemResponse('The grant id was used before with another amount or expiry (problem type id-conflict).'),
      '413': problemResponse('The body is larger than HTTP_MAX_BODY_BYTES.'),
    },
    handler: async ({ params, payload, request, h }) => {
      const { app, metrics } = deps;
      const caller = credentialsOf(request);
      await authorizeAccount(app.access, caller, params.userId, 'credits:grant', { evenForSelf: true });
      const grantId = grantIdOf(deps, caller.userId, payload.grantId, request.headers['idempotency-key']);
      const granted = await app.ledger.grant({
        accountId: params.userId,
        grantId,
        amount: payload.credits,
        by: caller.userId,
        ...(payload.expiresAt === undefined ? {} : { expiresAt: payload.expiresAt }),
        ...(payload.reason === undefined ? {} : { reason: payload.reason }),
      });
      if (E.isLeft(granted)) {
        metrics.ledgerCommand('grant', granted.left._tag);
        throw creditErrorToProblem(granted.left);
      }
      const { duplicate, balance, held, available } = granted.right;
      metrics.ledgerCommand('grant', duplicate ? 'duplicate' : 'ok');
      if (!duplicate) metrics.creditsGranted(payload.credits);
      const receipt = await grantReceipt(app, params.userId, grantId);
      return h
        .response({ userId: params.userId, grantId, granted: payload.credits, duplicate, balance, held, available, ...receipt })
        .code(duplicate ? 200 : 201);
    },
  });

export const accountRoutes = (deps: CreditsDeps): RouteDefinition[] => [balanceRoute(deps), historyRoute(deps), balanceAtRoute(deps), grantRoute(deps)];
