import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';
import type { Credentials } from '../auth.js';
import { consumeRestRequest } from '../rateLimit.js';
import type { RouteDefinition } from '../route.js';
import { accountRoutes } from './accounts.js';
import type { CreditsDeps } from './spend.js';
import { spendRoutes } from './spend.js';

/** Every credits route, defined once: the plugin registers them and the OpenAPI document lists their specs. */
export const creditRoutes = (deps: CreditsDeps): RouteDefinition[] => [...spendRoutes(deps), ...accountRoutes(deps)];

export type CreditsPluginOptions = { readonly deps: CreditsDeps; readonly routes: readonly RouteDefinition[] };

/**
 * Rate limiting runs right after authentication and before validation, so
 * malformed requests count against the caller's budget too.
 */
export const creditsPlugin: Plugin<CreditsPluginOptions> = {
  name: 'credit-ledger-credits',
  register: (server, { deps, routes }) => {
    server.ext(
      'onPostAuth',
      async (request: Request, h: ResponseToolkit) => {
        const credentials = request.auth.credentials as unknown as Credentials | null;
        if (request.auth.isAuthenticated && credentials !== null) await consumeRestRequest(deps.app.limiter, credentials.userId);
        return h.continue;
      },
      { sandbox: 'plugin' },
    );
    server.route(routes.map((r) => r.route));
  },
};
