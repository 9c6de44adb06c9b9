import type { Plugin } from '@hapi/hapi';
import type { App } from '../../app.js';
import type { RouteDefinition } from '../route.js';
import { usagePageRoutes } from './page.js';
import { usageRoutes } from './routes.js';

/** Usage analytics: the JSON/CSV API (documented) and the /usage page (not part of the API document). */
export const usageApiRoutes = (app: App): RouteDefinition[] => usageRoutes(app);

export type UsagePluginOptions = { readonly routes: readonly RouteDefinition[] };

export const usagePlugin: Plugin<UsagePluginOptions> = {
  name: 'credit-ledger-usage',
  register: (server, { routes }) => {
    server.route(routes.map((r) => r.route));
    server.route(usagePageRoutes());
  },
};


