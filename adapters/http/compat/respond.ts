import type { Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { App } from '../../app.js';
import type { Caller, CallerAuth } from '../../auth/apiKeyAuth.js';
import type { WireError } from './errors.js';
import { classifyCaller } from './errors.js';
import { noteCaller, requestIdOf } from '../requestLog.js';

/** Shared plumbing of the OpenAI and Anthropic routes: auth, body decoding, JSON errors. */
export type Dialect = {
  readonly error: (c: { kind: 'invalid'; message: string } | ReturnType<typeof classifyCaller>) => WireError;
};

export const sendError = (h: ResponseToolkit, error: WireError): ResponseObject => {
  const response = h.response(error.body as object).code(error.status).type('application/json');
  for (const [name, value] of Object.entries(error.headers)) response.header(name, value);
  return response;
};

/** The caller, or the provider-shaped 401/503 to answer with. */
export const callerOf = async (auth: CallerAuth, request: Request, dialect: Dialect): Promise<E.Either<WireError, Caller>> => {
  const caller = await auth.authenticate(request.headers);
  if (E.isLeft(caller)) return E.left(dialect.error(classifyCaller(caller.left)));
  noteCaller(request, callerIdentity(caller.right));
  return caller;
};

/** The key id and account, never the secret; or the user of a JWT. */
const callerIdentity = (caller: Caller) => (caller.kind === 'key' ? { keyId: caller.key.keyId, accountId: caller.key.accountId } : { userId: caller.userId });

/** Decodes a body with io-ts; the first failing path becomes an invalid_request_error message. */
export const decodeBody = <C extends t.Mixed>(codec: C, payload: unknown, dialect: Dialect): E.Either<WireError, t.TypeOf<C>> => {
  const decoded = codec.decode(payload);
  if (E.isRight(decoded)) return E.right(decoded.right as t.TypeOf<C>);
  const first = decoded.left[0];
  const path = first === undefined ? '' : first.context.map((c) => c.key).filter((k) => k.length > 0).join('.');
  return E.left(dialect.error({ kind: 'invalid', message: `Invalid request body${path.length > 0 ? ` at "${path}"` : ''}.` }));
};

/** hapi's own payload failures (bad JSON, too large, wrong media type) in the provider's shape. */
export const payloadFailAction = (dialect: Dialect) => (_request: Request, h: ResponseToolkit, error: Error | undefined) => {
  const status = (error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode ?? 400;
  const wire = dialect.error({ kind: 'invalid', message: status === 413 ? 'Request body too large.' : 'The body is not valid JSON.' });
  return sendError(h, { ...wire, status: status === 413 || status === 415 ? status : wire.status }).takeover();
};

/** One line per compatible-API request: the key id and account, never the secret. */
export const logRequest = (app: App, caller: Caller, request: Request, fields: Record<string, unknown>) =>
  app.logger.info(
    // httpRequestId: the requestId of the same request's access line (x-request-id), so the two lines join.
    { event: 'compat_usage', ...callerIdentity(caller), httpRequestId: requestIdOf(request), ...fields },
    'compatible api request',
  );
