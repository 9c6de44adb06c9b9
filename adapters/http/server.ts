import Hapi from '@hapi/hapi';
import type { App } from '../app.js';
import { registerJwtAuth } from './auth.js';
import { installClientErrorHandler } from './clientError.js';
import { apiKeyRoutes } from './apiKeys/routes.js';
import { compatRouteSpecs, registerCompat } from './compat/plugin.js';
import { creditRoutes, creditsPlugin } from './credits/plugin.js';
import { docsRoutes } from './docsRoutes.js';
import { makeIdempotency } from './idempotency.js';
import { registerRequestLogging } from './logging.js';
import type { RouteSpec } from './openapi.js';
import { registerRequestIds } from './requestLog.js';
import type { HttpMetrics } from './ops/metrics.js';
import { instrumentServer, makeHttpMetrics } from './ops/metrics.js';
import { registerLedgerRoutes } from './ledger/ledgerRoutes.js';
import { opsRoutes } from './ops/opsRoutes.js';
import { renderProblems } from './problems.js';
import { registerHttpTracing } from '../observability/httpTracing.js';
import { usageApiRoutes, usagePlugin } from './usage/plugin.js';
import { mcpPlugin } from '../mcp/mcpPlugin.js';
import type { OAuthClient } from '../../application/signin/oauthClient.js';
import { googleOAuthFromConfig, publicBaseUrl } from '../auth/googleOAuth.js';
import type { StaticClient } from '../oauth/clientRegistry.js';
import { mountAuthorizationServer, OAUTH_CALLBACK_PATH } from '../oauth/authorizationServer.js';
import { watchClientsFile } from '../oauth/clientsFile.js';
import { registerScopeGuard } from '../oauth/scopeGuard.js';
import type { Sora2Exposed, Sora2PluginOptions } from './sora2/plugin.js';
import { sora2Plugin } from './sora2/plugin.js';
import { sora2RouteSpecs } from './sora2/routes.js';

/**
 * The REST API (hapi): credits, Sora 2, health/stats/metrics and the OpenAPI
 * document, with bearer JWT auth and RFC 9457 problem+json errors everywhere.
 */
export type HttpServer = { url: string; port: number; server: Hapi.Server; stop: () => Promise<void> };

export type HttpExtras = {
  /** The WebSocket gateway's counters, shown in /stats. */
  readonly gatewayStats?: () => unknown;
  /** Defaults to a fresh registry per server. */
  readonly metrics?: HttpMetrics;
  /** Port override (tests use 0); defaults to app.config.PORT. */
  readonly port?: number;
  /** Overrides for the Sora 2 plugin (tests: video provider, OAuth client, poll interval). */
  readonly sora2?: Omit<Sora2PluginOptions, 'app'>;
  /** Overrides for the OAuth authorization server (tests: the Google stand-in, static clients). */
  readonly oauth?: {
    readonly google?: OAuthClient;
    readonly staticClients?: () => readonly StaticClient[];
    readonly allowLoopbackHttpClientIds?: boolean;
  };
};

/** The version of the API contract (not of the package), shown in the OpenAPI document. */
export const API_VERSION = '1.0.0';

/** Builds the server with every route registered, not started: `server.inject` works on it. */
export const makeHttpServer = async (app: App, extras: HttpExtras = {}): Promise<Hapi.Server> => {
  const server = Hapi.server({
    port: extras.port ?? app.config.PORT,
    host: app.config.HOST,
    router: { stripTrailingSlash: true },
    routes: {
      // The default for every route, including other plugins'; each route may lower it.
      payload: { maxBytes: app.config.HTTP_MAX_BODY_BYTES },
      security: { hsts: false, xframe: 'deny', noSniff: true, referrer: 'no-referrer' },
    },
  });
  // Malformed HTTP never reaches hapi: answered with problem+json, logged without a byte of the request (issue 11).
  installClientErrorHandler(server.listener, app.logger);
  const startedAtMs = Date.now();
  const metrics = extras.metrics ?? makeHttpMetrics();
  server.ext('onPreResponse', renderProblems);
  instrumentServer(server, metrics);
  registerHttpTracing(server);
  await registerRequestLogging(server, app.logger);
  registerRequestIds(server, app.logger);
  registerJwtAuth(server, app.verifier);
  registerScopeGuard(server);

  const specs: RouteSpec[] = [];
  const creditsDeps = { app, metrics, idempotency: makeIdempotency({ store: app.sessions.idempotency, logger: app.logger }) };
  const credits = creditRoutes(creditsDeps);
  await server.register({ plugin: creditsPlugin, options: { deps: creditsDeps, routes: credits } });
  specs.push(...credits.map((r) => r.spec));

  await server.register({ plugin: sora2Plugin, options: { app, ...extras.sora2 } });
  specs.push(...sora2RouteSpecs);

  const usage = usageApiRoutes(app);
  await server.register({ plugin: usagePlugin, options: { routes: usage } });
  specs.push(...usage.map((r) => r.spec));

  // The OAuth authorization server issues HS256 access tokens the verifier accepts; with a JWKS verifier it is off.
  const base = publicBaseUrl(app.config);
  const oauthOn = app.jwtSecret !== undefined;
  if (app.jwtSecret !== undefined) {
    const google = extras.oauth?.google ?? googleOAuthFromConfig(app.config, app.clock.now, OAUTH_CALLBACK_PATH);
    mountAuthorizationServer(server, {
      app,
      base,
      secret: app.jwtSecret,
      google,
      staticClients: extras.oauth?.staticClients ?? watchClientsFile(app.config.OAUTH_CLIENTS_FILE),
      allowLoopbackHttpClientIds: extras.oauth?.allowLoopbackHttpClientIds ?? process.env['NODE_ENV'] !== 'production',
    });
  }
  const sora2 = () => (server.plugins as { sora2?: Sora2Exposed }).sora2;
  await server.register({
    plugin: mcpPlugin,
    options: { app, idempotency: creditsDeps.idempotency, videoJobs: () => sora2()?.jobs, version: API_VERSION, ...(oauthOn ? { authorizationServer: base } : {}) },
  });
  specs.push(...registerLedgerRoutes(server, app));
  const keyRoutes = apiKeyRoutes(app);
  server.route(keyRoutes.map((r) => r.route));
  specs.push(...keyRoutes.map((r) => r.spec));
  registerCompat(server, app);
  specs.push(...compatRouteSpecs);

  const ops = opsRoutes({ app, metrics, gatewayStats: extras.gatewayStats ?? (() => ({ running: false })), startedAtMs });
  server.route(ops.map((r) => r.route));
  specs.push(...ops.map((r) => r.spec));

  // The documentation routes describe the others and are not themselves part of the document.
  server.route(docsRoutes({ specs: () => specs, publicUrl: app.config.PUBLIC_URL, version: API_VERSION }).map((r) => r.route));
  return server;
};

/** Starts the server on app.config.HOST/PORT (or extras.port). */
export const startHttpServer = async (app: App, extras: HttpExtras = {}): Promise<HttpServer> => {
  const server = await makeHttpServer(app, extras);
  await server.start();
  const port = Number(server.info.port);
  const host = app.config.HOST === '0.0.0.0' || app.config.HOST === '::' ? '127.0.0.1' : app.config.HOST;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    // Lets in-flight requests finish for up to 10 s, then closes the listener.
    stop: () => server.stop({ timeout: 10_000 }),
  };
};
