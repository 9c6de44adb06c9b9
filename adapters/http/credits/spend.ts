import type { ResponseToolkit } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { Json } from '../../../application/ports/eventStore.js';
import type { App } from '../../app.js';
import { authorizeAccount, credentialsOf, requireActiveAccount } from '../auth.js';
import type { Idempotency, IdempotentResult, Outcome } from '../idempotency.js';
import { ledgerIdFor } from '../idempotency.js';
import type { HttpMetrics } from '../ops/metrics.js';
import { commonProblems, problemResponse } from '../openapi.js';
import { creditErrorToProblem, problem, problemBody } from '../problems.js';
import type { RouteDefinition } from '../route.js';
import { defineRoute } from '../route.js';
import { decodeInput } from '../schema.js';
import { CheckBody, CheckSchema, DeductBody, DeductSchema, IdempotencyKey } from './codecs.js';
import { deductionReceipt } from '../ledger/receipts.js';

/** POST /api/credits/check and POST /api/credits/deduct. */
export type CreditsDeps = { readonly app: App; readonly metrics: HttpMetrics; readonly idempotency: Idempotency };

const checkRoute = ({ app }: CreditsDeps): RouteDefinition =>
  defineRoute({
    method: 'POST',
    path: '/api/credits/check',
    operationId: 'checkCredits',
    summary: 'Can this amount be spent now?',
    description: 'Answers whether `credits` can be spent now on the caller\'s account (or `userId`, with credits:read-any) and returns the balance, held and available credits. Changes nothing.',
    tags: ['credits'],
    security: ['bearerJwt'],
    payload: CheckBody,
    payloadExample: { credits: 5, service: 'sora2' },
    maxBytes: app.config.HTTP_MAX_BODY_BYTES,
    responses: {
      '200': { description: 'The answer and the account\'s balances.', schema: CheckSchema },
      ...commonProblems(),
      '403': problemResponse('Another account was named without credits:read-any.'),
      '413': problemResponse('The body is larger than HTTP_MAX_BODY_BYTES.'),
    },
    handler: async ({ payload, request }) => {
      const caller = credentialsOf(request);
      const accountId = payload.userId ?? caller.userId;
      await authorizeAccount(app.access, caller, accountId, 'credits:read-any');
      const answer = await app.ledger.check(accountId, payload.credits);
      return { userId: accountId, canSpend: answer.canSpend, requested: answer.requested, balance: answer.balance, held: answer.held, available: answer.available };
    },
  });

const idempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: false,
  description: 'Unique per logical deduction (e.g. a UUID), 1 to 200 printable ASCII characters; or send idempotencyKey in the body. The same key and body replay the first response for 24 h; another body is 409.',
  schema: { type: 'string', minLength: 1, maxLength: 200 },
};

/** The key from the Idempotency-Key header or, for clients that cannot send headers, the body; if both, they must agree. */
const keyOf = (headers: Readonly<Record<string, unknown>>, bodyKey: string | undefined): string => {
  const raw = headers['idempotency-key'];
  if (raw === undefined && bodyKey === undefined) {
    throw problem(400, 'idempotency-key-required', 'Idempotency-Key required', 'POST /api/credits/deduct needs an Idempotency-Key header (e.g. a UUID), or idempotencyKey in the body.');
  }
  if (raw === undefined) return bodyKey as string;
  const decoded = decodeInput(IdempotencyKey, 'headers', raw);
  if (E.isLeft(decoded)) throw problem(400, 'invalid-idempotency-key', 'Invalid Idempotency-Key', 'The Idempotency-Key must be 1 to 200 printable ASCII characters.');
  if (bodyKey !== undefined && bodyKey !== decoded.right) throw problem(400, 'invalid-idempotency-key', 'Invalid Idempotency-Key', 'The Idempotency-Key header and the body\'s idempotencyKey differ.');
  return decoded.right;
};

/** Sends an idempotent outcome: the stored status and body, flagged when replayed. */
export const respondIdempotent = (h: ResponseToolkit, result: IdempotentResult) => {
  const response = h.response(result.body as object).code(result.status);
  if (result.status >= 400) response.type('application/problem+json');
  if (result.replayed) response.header('Idempotent-Replayed', 'true');
  return response;
};

const deductRoute = ({ app, metrics, idempotency }: CreditsDeps): RouteDefinition =>
  defineRoute({
    method: 'POST',
    path: '/api/credits/deduct',
    operationId: 'deductCredits',
    summary: 'Deduct credits (idempotent)',
    description: 'Deducts `credits` for `service` from the caller\'s account (or `userId`, with credits:deduct-any). Needs an Idempotency-Key (header, or idempotencyKey in the body): a retry with the same key and body never charges twice.',
    tags: ['credits'],
    security: ['bearerJwt'],
    payload: DeductBody,
    payloadExample: { credits: 5, service: 'sora2' },
    headers: [idempotencyHeader],
    maxBytes: app.config.HTTP_MAX_BODY_BYTES,
    responses: {
      '200': {
        description: 'Deducted; the balances after the deduction. A replay carries Idempotent-Replayed: true.',
        schema: DeductSchema,
        headers: { 'Idempotent-Replayed': { description: 'true when this is the stored first response.', schema: { type: 'string' } } },
      },
      ...commonProblems(),
      '402': problemResponse('Not enough available credits (problem type insufficient-credits); nothing was deducted.'),
      '403': problemResponse('The caller lacks credits:deduct (own account) or credits:deduct-any (another account), or the account is suspended.'),
      '409': problemResponse('The Idempotency-Key was used with another body, or the first request is still running.'),
      '413': problemResponse('The body is larger than HTTP_MAX_BODY_BYTES.'),
    },
    handler: async ({ payload, request, h }) => {
      const caller = credentialsOf(request);
      const key = keyOf(request.headers, payload.idempotencyKey);
      const accountId = payload.userId ?? caller.userId;
      // Even one's own account needs credits:deduct (role user, service or admin): a user whose roles
      // were all revoked cannot deduct (issue 11). Another account needs credits:deduct-any. A suspended
      // user's own deduction is answered as account-suspended, which says more than forbidden.
      if (accountId === caller.userId) {
        await requireActiveAccount(app.access, accountId);
        await authorizeAccount(app.access, caller, accountId, 'credits:deduct', { evenForSelf: true });
      } else {
        await authorizeAccount(app.access, caller, accountId, 'credits:deduct-any');
        await requireActiveAccount(app.access, accountId);
      }
      // Derived from caller and key, so a retry reaches the ledger as the same deduction even if the key store forgot it.
      const deductionId = ledgerIdFor('deduct', caller.userId, key);
      const request_ = { path: request.path, accountId, credits: payload.credits, service: payload.service, sessionId: payload.sessionId };
      const result = await idempotency.run({ scope: 'deduct', callerId: caller.userId, key, request: request_ }, async (): Promise<Outcome> => {
        const deducted = await app.ledger.deduct({
          accountId,
          deductionId,
          amount: payload.credits,
          service: payload.service,
          by: caller.userId,
          ...(payload.sessionId === undefined ? {} : { sessionId: payload.sessionId }),
        });
        if (E.isLeft(deducted)) {
          metrics.ledgerCommand('deduct', deducted.left._tag);
          // A refusal is the outcome of this key: kept and replayed like a success (use a new key for a new attempt).
          const boom = creditErrorToProblem(deducted.left);
          return { status: boom.output.statusCode, body: problemBody(boom, request.path) as unknown as Json, final: true };
        }
        metrics.ledgerCommand('deduct', deducted.right.duplicate ? 'duplicate' : 'ok');
        if (!deducted.right.duplicate) metrics.creditsCharged(payload.service, payload.credits);
        const { balance, held, available } = deducted.right;
        const receipt = await deductionReceipt(app, accountId, deductionId);
        return { status: 200, body: { userId: accountId, deductionId, charged: payload.credits, service: payload.service, balance, held, available, ...receipt }, final: true };
      });
      return respondIdempotent(h, result);
    },
  });

export const spendRoutes = (deps: CreditsDeps): RouteDefinition[] => [checkRoute(deps), deductRoute(deps)];
