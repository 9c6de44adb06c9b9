import type { Request, ResponseToolkit, Server } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { Authenticated } from '../../../application/signin/sessionTokens.js';
import type { SignIn } from '../../../application/signin/signIn.js';
import { extractToken } from '../../auth/jwtRequest.js';
import { strategies } from '../route.js';
import { signInErrorToProblem, signInNotConfigured } from './sora2Problems.js';

/**
 * The `sora2-session` auth scheme: `Authorization: Bearer <sessionToken>` as
 * issued by GET /api/sora2/auth/session. The token is looked up by its digest
 * and its Session stream must say it is live (not revoked, not past 24 h).
 * Only the header is read: a token in a query string would end up in logs.
 */
export const SORA2_SESSION_STRATEGY = strategies.sora2Session;

export type Sora2Credentials = Authenticated;

export const registerSora2SessionAuth = (server: Server, signIn: () => SignIn | undefined): void => {
  server.auth.scheme(SORA2_SESSION_STRATEGY, () => ({
    authenticate: async (request: Request, h: ResponseToolkit) => {
      const flow = signIn();
      if (flow === undefined) throw signInNotConfigured();
      const session = await flow.authenticate(extractToken(request.headers, undefined));
      if (E.isLeft(session)) throw signInErrorToProblem(session.left);
      return h.authenticated({ credentials: session.right as unknown as NonNullable<Request['auth']['credentials']> });
    },
  }));
  server.auth.strategy(SORA2_SESSION_STRATEGY, SORA2_SESSION_STRATEGY);
};

export const sessionOf = (request: Request): Sora2Credentials => {
  const credentials = request.auth.credentials as unknown as Sora2Credentials | null;
  if (credentials === null || typeof credentials.userId !== 'string') throw new Error(`route ${request.route.path} has no sora2 session`);
  return credentials;
};
