import type { Request, ResponseToolkit, Server } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { Authenticated } from '../../../application/signin/sessionTokens.js';
import type { SignIn } from '../../../application/signin/signIn.js';
import { extractToken } from '../../auth/jwtRequest.js';
import type { TokenVerifier } from '../../../application/ports/tokenVerifier.js';
import { looksLikeSecret } from '../../../application/signin/secrets.js';
import { authErrorToProblem } from '../problems.js';
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

export const registerSora2SessionAuth = (server: Server, signIn: () => SignIn | undefined, verifier?: TokenVerifier): void => {
  server.auth.scheme(SORA2_SESSION_STRATEGY, () => ({
    authenticate: async (request: Request, h: ResponseToolkit) => {
      const token = extractToken(request.headers, undefined);
      // A bearer that is not a session secret is a JWT (an OAuth access token: how a GPT calls these
      // routes), verified by the same TokenVerifier as every other route.
      if (verifier !== undefined && token !== undefined && token.length > 0 && !looksLikeSecret(token)) {
        const verified = await verifier.verify(token);
        if (E.isLeft(verified)) throw authErrorToProblem(verified.left);
        const { userId, claims } = verified.right;
        return h.authenticated({ credentials: { userId, claims } as unknown as NonNullable<Request['auth']['credentials']> });
      }
      const flow = signIn();
      if (flow === undefined) throw signInNotConfigured();
      const session = await flow.authenticate(token);
      if (E.isLeft(session)) throw signInErrorToProblem(session.left);
      return h.authenticated({ credentials: session.right as unknown as NonNullable<Request['auth']['credentials']> });
    },
  }));
  server.auth.strategy(SORA2_SESSION_STRATEGY, SORA2_SESSION_STRATEGY);
};

/**
 * The caller of a Sora 2 route: a sign-in session, or a bearer JWT (an OAuth
 * access token from the authorization server, which is how a GPT calls us).
 * Only a session has a session id.
 */
export const sessionOf = (request: Request): { readonly userId: string; readonly sessionId?: string } => {
  const credentials = request.auth.credentials as unknown as Partial<Sora2Credentials> | null;
  if (credentials === null || typeof credentials.userId !== 'string') throw new Error(`route ${request.route.path} has no authenticated caller`);
  return { userId: credentials.userId, ...(typeof credentials.sessionId === 'string' ? { sessionId: credentials.sessionId } : {}) };
};
