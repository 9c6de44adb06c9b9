import type { Request, ResponseToolkit, Server } from '@hapi/hapi';
import { problem, withHeaders } from '../http/problems.js';

/**
 * Scopes of OAuth-issued tokens on the REST API. A token that carries a
 * `scope` claim was issued by the authorization server to a third party (a
 * GPT, an agent): it may call only the routes its scopes name, and nothing
 * else, whatever the user's own permissions allow (those are still checked
 * after this). Deny by default: a route missing from this table is closed to
 * scoped tokens. A first-party token (no `scope`, minted by `ledger token` or
 * your identity provider) is judged by permissions alone.
 */
const ROUTE_SCOPES: Readonly<Record<string, string>> = {
  'get /api/credits/{userId}': 'credits:read',
  'get /api/credits/{userId}/balance': 'credits:read',
  'get /api/credits/{userId}/history': 'credits:read',
  'post /api/credits/check': 'credits:read',
  'post /api/credits/deduct': 'credits:deduct',
  'get /api/usage/me': 'credits:read',
  'post /api/sora2/generate': 'sora2:use',
  'get /api/sora2/jobs': 'sora2:use',
  'get /api/sora2/jobs/{id}': 'sora2:use',
  'get /api/sora2/jobs/{id}/content': 'sora2:use',
  'post /v1/chat/completions': 'llm:use',
  'post /v1/messages': 'llm:use',
  'get /v1/models': 'llm:use',
};

export const requiredScope = (method: string, path: string): string | undefined => ROUTE_SCOPES[`${method.toLowerCase()} ${path}`];

const grantedScopes = (request: Request): readonly string[] | undefined => {
  const claims = (request.auth.credentials as { claims?: Record<string, unknown> } | null)?.claims;
  const scope = claims?.['scope'];
  return typeof scope === 'string' ? scope.split(' ').filter((s) => s.length > 0) : undefined;
};

export const registerScopeGuard = (server: Server): void => {
  server.ext('onPostAuth', (request: Request, h: ResponseToolkit) => {
    if (!request.auth.isAuthenticated) return h.continue;
    const granted = grantedScopes(request);
    if (granted === undefined) return h.continue;
    const needed = requiredScope(request.route.method, request.route.path);
    if (needed !== undefined && granted.includes(needed)) return h.continue;
    const detail = needed === undefined ? 'Tokens issued to applications cannot call this operation.' : `This operation needs the "${needed}" scope.`;
    throw withHeaders(problem(403, 'insufficient-scope', 'Insufficient scope', detail, needed === undefined ? {} : { scope: needed }), {
      'WWW-Authenticate': `Bearer error="insufficient_scope"${needed === undefined ? '' : `, scope="${needed}"`}`,
    });
  });
};
