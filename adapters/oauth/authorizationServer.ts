import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { Request, ResponseToolkit, Server } from '@hapi/hapi';
import { errors, Provider } from './provider.js';
import type { OAuthClient } from '../../application/signin/oauthClient.js';
import type { App } from '../app.js';
import { makeClientRegistry } from './clientRegistry.js';
import type { StaticClient } from './clientRegistry.js';
import { interactionRoutes } from './interactionRoutes.js';
import { makeMemoryAdapterFactory, makeRedisAdapterFactory } from './storage.js';

/**
 * The OAuth 2.1 authorization server, built on oidc-provider (a certified
 * implementation; we configure it, we do not re-implement the protocol).
 *
 * - Issuer: the public base URL, so RFC 8414 metadata is at
 *   /.well-known/oauth-authorization-server (and OpenID discovery beside it).
 * - Authorization code + PKCE (S256) for every client, refresh tokens with
 *   rotation, dynamic client registration (RFC 7591, what MCP clients use),
 *   Client ID Metadata Documents, and static clients for GPT builders.
 * - Resource indicators (RFC 8707): tokens are JWTs whose `aud` is the
 *   resource asked for (`/mcp` or `/api`), signed with the gateway's HS256
 *   secret so the same TokenVerifier that guards REST, WebSocket and /mcp
 *   accepts them; `sub` is the ledger user id; `scope` limits what they do.
 * - A person proves who they are by signing in with Google (the same OIDC
 *   client port the Sora 2 sign-in uses), then approves the scopes on a
 *   consent page that names the client.
 */
export const OAUTH_SCOPES = ['credits:read', 'credits:deduct', 'llm:use', 'sora2:use'] as const;
export const OAUTH_CALLBACK_PATH = '/oauth/callback';

export type AuthorizationServerOptions = {
  readonly app: App;
  /** Public base URL without a trailing slash: the issuer. */
  readonly base: string;
  /** The HS256 secret the TokenVerifier checks. */
  readonly secret: string;
  /** Google sign-in with redirect URI base + /oauth/callback; undefined answers sign-in with 503. */
  readonly google: OAuthClient | undefined;
  /** Reads the static clients (GPT builders'); re-read whenever the file changes. */
  readonly staticClients: () => readonly StaticClient[];
  /** Lets Client ID Metadata Documents be fetched over plain http from loopback (tests, local development). */
  readonly allowLoopbackHttpClientIds?: boolean;
  readonly accessTokenTtlS?: number;
};

export const resourcesOf = (base: string) => ({ mcp: `${base}/mcp`, api: `${base}/api` });

/** Keys derived from the secret: every instance sharing the secret agrees, and none is stored. */
const derive = (secret: string, purpose: string) => createHmac('sha256', secret).update(`oauth:${purpose}`).digest('base64url');

const passThrough = (path: string) =>
  (path.startsWith('/oauth/') && !path.startsWith('/oauth/interaction/') && path !== OAUTH_CALLBACK_PATH) ||
  path === '/.well-known/openid-configuration' ||
  path === '/.well-known/oauth-authorization-server';

export const makeAuthorizationServer = (options: AuthorizationServerOptions): Provider => {
  const { app, base, secret } = options;
  const resources = resourcesOf(base);
  const registry = makeClientRegistry({
    staticClients: options.staticClients,
    allowLoopbackHttp: options.allowLoopbackHttpClientIds === true,
  });
  const storage = app.redis === undefined ? makeMemoryAdapterFactory() : makeRedisAdapterFactory(app.redis, `${app.config.REDIS_PREFIX}oauth:`);
  // ID tokens (only for clients that ask for `openid`) are signed with a key of this process; access tokens use the shared secret.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const idTokenKey = { ...privateKey.export({ format: 'jwk' }), kid: 'id-token-1', alg: 'ES256', use: 'sig' };

  const provider = new Provider(base, {
    adapter: (model: string) => (model === 'Client' ? registry.adapter(storage(model)) : storage(model)),
    jwks: { keys: [idTokenKey] },
    clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none' },
    cookies: { keys: [derive(secret, 'cookies')] },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', ...OAUTH_SCOPES],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    routes: {
      authorization: '/oauth/authorize',
      token: '/oauth/token',
      registration: '/oauth/register',
      jwks: '/oauth/jwks',
      revocation: '/oauth/revoke',
      end_session: '/oauth/logout',
      userinfo: '/oauth/userinfo',
      introspection: '/oauth/introspect',
      pushed_authorization_request: '/oauth/par',
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // GPT Actions send no `resource`: their tokens are for the REST API. MCP clients name /mcp.
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string) => oneOf ?? resources.api,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator !== resources.mcp && resourceIndicator !== resources.api) throw new errors.InvalidTarget('unknown resource');
          return {
            scope: OAUTH_SCOPES.join(' '),
            audience: resourceIndicator,
            accessTokenTTL: options.accessTokenTtlS ?? 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'HS256', key: Buffer.from(secret, 'utf8') } },
          };
        },
      },
    },
    // OAuth 2.1: refresh tokens for every client allowed the grant, rotated on every use (a replayed one is refused).
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed: (g: string) => boolean }) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    interactions: { url: async (_ctx: unknown, interaction: { uid: string }) => `/oauth/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    discovery: { client_id_metadata_document_supported: true },
    ttl: { AccessToken: options.accessTokenTtlS ?? 3600, AuthorizationCode: 60, Interaction: 600, Session: 14 * 24 * 3600, Grant: 365 * 24 * 3600, RefreshToken: 30 * 24 * 3600 },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><meta charset="utf-8"><title>Sign-in error</title><h1>Sign-in error</h1><p>${escapeHtml(out['error'] ?? 'error')}: ${escapeHtml(out['error_description'] ?? '')}</p>`;
    },
  });
  provider.proxy = true;
  return provider;
};

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/**
 * Mounts the provider on hapi: its endpoints are answered before hapi parses
 * anything (oidc-provider reads its own bodies), the interaction pages are
 * ordinary hapi routes.
 */
export const mountAuthorizationServer = (server: Server, options: AuthorizationServerOptions): Provider => {
  const provider = makeAuthorizationServer(options);
  const callback = provider.callback();
  server.ext('onRequest', (request: Request, h: ResponseToolkit) => {
    const path = request.url.pathname;
    if (!passThrough(path)) return h.continue;
    // RFC 8414 metadata is the same document as OpenID discovery for this issuer.
    if (path === '/.well-known/oauth-authorization-server') request.raw.req.url = '/.well-known/openid-configuration';
    callback(request.raw.req, request.raw.res);
    return h.abandon;
  });
  server.route(interactionRoutes({ provider, app: options.app, google: options.google, csrfKey: derive(options.secret, 'csrf'), base: options.base }));
  return provider;
};
