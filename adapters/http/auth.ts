import type { Request, ResponseToolkit, Server } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { Action } from '../../domain/permissions/policy.js';
import type { AccessControl } from '../../application/permissions/access.js';
import type { Principal, TokenVerifier } from '../../application/ports/tokenVerifier.js';
import { extractToken } from '../auth/jwtRequest.js';
import { accessErrorToProblem, authErrorToProblem, problem } from './problems.js';

/**
 * Bearer JWT authentication for REST: the hapi scheme and strategy `jwt`,
 * backed by the same TokenVerifier as the WebSocket upgrade. REST takes the
 * token from the Authorization header only; the `token` query parameter
 * exists for browsers opening WebSockets and would leak into proxy logs here.
 */
export const JWT_STRATEGY = 'jwt';

/** What a route handler learns about its caller: `request.auth.credentials`. */
export type Credentials = { readonly userId: string; readonly claims: Principal['claims']; readonly roles?: readonly string[] };

export const registerJwtAuth = (server: Server, verifier: TokenVerifier): void => {
  server.auth.scheme(JWT_STRATEGY, () => ({
    authenticate: async (request: Request, h: ResponseToolkit) => {
      const verified = await verifier.verify(extractToken(request.headers, undefined));
      // Invalid, expired and missing tokens are 401 with a challenge; unreachable signing keys are a 503.
      if (E.isLeft(verified)) throw authErrorToProblem(verified.left);
      const { userId, claims, roles } = verified.right;
      const credentials: Credentials = { userId, claims, ...(roles === undefined ? {} : { roles }) };
      return h.authenticated({ credentials: credentials as unknown as NonNullable<Request['auth']['credentials']> });
    },
  }));
  server.auth.strategy(JWT_STRATEGY, JWT_STRATEGY);
};

/** The verified caller of a route that requires `jwt`. */
export const credentialsOf = (request: Request): Credentials => {
  const credentials = request.auth.credentials as unknown as Credentials | null;
  if (credentials === null || typeof credentials.userId !== 'string') throw new Error(`route ${request.route.path} has no jwt credentials`);
  return credentials;
};

/**
 * A user may act on their own account; acting on anyone else's needs the
 * given permission (credits:read-any, credits:deduct-any, credits:grant),
 * decided by the event-sourced permissions, never by a claim in the body.
 */
export const authorizeAccount = async (
  access: AccessControl,
  caller: Credentials,
  accountId: string,
  action: Action,
  options: { readonly evenForSelf?: boolean } = {},
): Promise<void> => {
  if (accountId === caller.userId && options.evenForSelf !== true) return;
  const decision = await access.check(caller.userId, action);
  if (!decision.allowed) throw accessErrorToProblem({ _tag: 'Forbidden', action, userId: caller.userId });
};

/** A suspended user's credits cannot be spent, by them or by a service acting for them. */
export const requireActiveAccount = async (access: AccessControl, accountId: string): Promise<void> => {
  const permissions = await access.describe(accountId);
  if (permissions.status === 'suspended') {
    throw problem(403, 'account-suspended', 'Account suspended', 'This user is suspended; their credits cannot be spent.', { userId: accountId });
  }
};
