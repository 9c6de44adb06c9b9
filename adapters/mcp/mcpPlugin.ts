import type { Plugin, Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as E from 'fp-ts/lib/Either.js';
import type { Principal } from '../../application/ports/tokenVerifier.js';
import type { VideoJobs } from '../../application/video/videoJobs.js';
import type { App } from '../app.js';
import { publicBaseUrl } from '../auth/googleOAuth.js';
import { extractToken } from '../auth/jwtRequest.js';
import type { Idempotency } from '../http/idempotency.js';
import { problem, withHeaders } from '../http/problems.js';
import type { McpCaller } from './tools.js';
import { registerTools } from './tools.js';
import { noteCaller } from '../http/requestLog.js';

/**
 * The Model Context Protocol server at /mcp (Streamable HTTP, stateless: each
 * POST carries one JSON-RPC message and gets its answer, streamed as SSE when
 * a tool sends progress). A fresh McpServer per request keeps no state between
 * calls, so any instance behind a load balancer can answer any call.
 *
 * Protection, in this order:
 * 1. DNS rebinding: the Host must be this server's public host or a loopback
 *    name, and a browser's Origin, when sent, must be one of those too (403).
 * 2. Bearer token (RFC 6750) verified by the same TokenVerifier as REST and
 *    WebSocket; a missing or bad token is 401 with `WWW-Authenticate` naming
 *    the protected-resource metadata (RFC 9728), which is how an MCP client
 *    discovers where to sign in.
 * 3. Audience (RFC 8707): a token issued for another resource is refused, so a
 *    token meant for some other API cannot be replayed here. A first-party
 *    token with no `aud` (minted by `ledger token`) is accepted.
 * 4. Scopes: a token that carries scopes must carry the tool's scope.
 */
export const MCP_PATH = '/mcp';
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

export type McpPluginOptions = {
  readonly app: App;
  readonly idempotency: Idempotency;
  readonly videoJobs: () => VideoJobs | undefined;
  /** The version shown to clients in `initialize`. */
  readonly version: string;
  /** Issuer URL of the authorization server that issues tokens for /mcp, when one runs. */
  readonly authorizationServer?: string;
};

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

const hostnameOf = (hostHeader: string | undefined): string | undefined => {
  if (hostHeader === undefined || hostHeader.length === 0 || hostHeader.length > 255) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
};

const allowedHost = (publicHost: string, hostname: string | undefined) => hostname !== undefined && (hostname === publicHost || LOOPBACK.has(hostname));

const rebindingRefusal = (request: Request, publicHost: string) => {
  if (!allowedHost(publicHost, hostnameOf(request.headers['host'] as string | undefined))) {
    return problem(403, 'forbidden-host', 'Host not allowed', 'This server does not answer for that Host header.');
  }
  const origin = request.headers['origin'] as string | undefined;
  if (origin === undefined) return undefined;
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).hostname;
  } catch {
    originHost = undefined;
  }
  return allowedHost(publicHost, originHost) ? undefined : problem(403, 'forbidden-origin', 'Origin not allowed', 'Cross-origin requests to /mcp are refused.');
};

const audiences = (claims: Principal['claims']): readonly string[] | undefined => {
  const aud = claims['aud'];
  if (aud === undefined) return undefined;
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : typeof aud === 'string' ? [aud] : [];
};

const scopesOf = (claims: Principal['claims']): readonly string[] | undefined => {
  const scope = claims['scope'];
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s.length > 0);
  const scp = claims['scp'];
  return Array.isArray(scp) ? scp.filter((s): s is string => typeof s === 'string') : undefined;
};

export const mcpPlugin: Plugin<McpPluginOptions> = {
  name: 'mcp',
  register: (server, options) => {
    const { app } = options;
    const base = publicBaseUrl(app.config);
    const resource = `${base}${MCP_PATH}`;
    const metadataUrl = `${base}${PROTECTED_RESOURCE_PATH}${MCP_PATH}`;
    const publicHost = new URL(base).hostname;
    const acceptedAudiences = new Set([resource, ...(app.config.JWT_AUDIENCE === undefined ? [] : [app.config.JWT_AUDIENCE])]);

    const challenge = (error?: { code: string; description: string }) =>
      withHeaders(problem(401, 'unauthorized', 'Unauthorized', error?.description ?? 'A bearer token is required for /mcp.'), {
        'WWW-Authenticate': `Bearer resource_metadata="${metadataUrl}"${error === undefined ? '' : `, error="${error.code}", error_description="${error.description}"`}`,
      });

    const authenticate = async (request: Request): Promise<McpCaller> => {
      const token = extractToken(request.headers, undefined);
      if (token === undefined || token.length === 0) throw challenge();
      const verified = await app.verifier.verify(token);
      if (E.isLeft(verified)) {
        if (verified.left._tag === 'KeysUnavailable') throw withHeaders(problem(503, 'auth-unavailable', 'Authentication unavailable', 'Signing keys cannot be fetched; retry shortly.'), { 'Retry-After': '5' });
        throw challenge({ code: 'invalid_token', description: verified.left._tag === 'TokenExpired' ? 'The token has expired.' : 'The token is not valid.' });
      }
      const aud = audiences(verified.right.claims);
      if (aud !== undefined && !aud.some((a) => acceptedAudiences.has(a))) {
        throw challenge({ code: 'invalid_token', description: 'The token was issued for another resource.' });
      }
      noteCaller(request, { userId: verified.right.userId });
      return { userId: verified.right.userId, scopes: scopesOf(verified.right.claims) };
    };

    const handle = async (request: Request, h: ResponseToolkit) => {
      const refused = rebindingRefusal(request, publicHost);
      if (refused !== undefined) throw refused;
      const caller = await authenticate(request);
      const mcp = new McpServer({ name: 'credit-ledger-gateway', version: options.version }, { capabilities: { logging: {} } });
      registerTools(mcp, caller, { app, idempotency: options.idempotency, videoJobs: options.videoJobs });
      const transport = new StreamableHTTPServerTransport({});
      await mcp.connect(transport);
      // A client that hangs up aborts the tool's signal: a running chat settles for what was produced.
      request.raw.res.on('close', () => {
        void transport.close().catch(() => undefined);
        void mcp.close().catch(() => undefined);
      });
      await transport.handleRequest(request.raw.req, request.raw.res, request.payload);
      return h.abandon;
    };

    const resourceMetadata = () => ({
      resource,
      ...(options.authorizationServer === undefined ? {} : { authorization_servers: [options.authorizationServer] }),
      bearer_methods_supported: ['header'],
      scopes_supported: ['credits:read', 'llm:use', 'sora2:use'],
      resource_name: 'Credit ledger gateway (MCP)',
      resource_documentation: `${base}/docs`,
    });

    const routes: ServerRoute[] = [
      { method: 'POST', path: MCP_PATH, options: { auth: false, payload: { parse: true, output: 'data', allow: 'application/json', maxBytes: 1024 * 1024 } }, handler: handle },
      { method: ['GET', 'DELETE'], path: MCP_PATH, options: { auth: false }, handler: handle },
      { method: 'GET', path: `${PROTECTED_RESOURCE_PATH}${MCP_PATH}`, options: { auth: false }, handler: resourceMetadata },
      { method: 'GET', path: PROTECTED_RESOURCE_PATH, options: { auth: false }, handler: resourceMetadata },
    ];
    server.route(routes);
  },
};
