import { pathToFileURL } from 'node:url';
import type { App, AppOverrides } from './app.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import type { HttpServer } from './http/server.js';
import { startHttpServer } from './http/server.js';
import { makeLogger } from './logging.js';
import type { AppLogger } from './logging.js';
import type { WsServer } from './ws/server.js';
import { startWsServer } from './ws/server.js';

/**
 * The composition root: decode the configuration, build the application,
 * start the WebSocket gateway and the REST API, and stop them in order.
 */
export type Service = {
  readonly app: App;
  readonly http: HttpServer;
  readonly ws: WsServer;
  /** Finishes or settles in-flight streams, then closes servers, stores and connections. */
  readonly stop: () => Promise<void>;
};

export const startService = async (
  env: Readonly<Record<string, string | undefined>>,
  options: { readonly logger?: AppLogger; readonly overrides?: AppOverrides } = {},
): Promise<Service> => {
  const config = loadConfig(env);
  const logger = options.logger ?? makeLogger(config.LOG_LEVEL);
  const app = await buildApp(config, env, logger, options.overrides ?? {});
  try {
    const ws = await startWsServer(app);
    const http = await startHttpServer(app, { gatewayStats: ws.stats });
    logger.info(
      { rest: http.url, websocket: ws.url, store: app.store.kind, providers: app.llm.providers.map((p) => `${p.name}:${p.kind}`) },
      'credit ledger gateway started',
    );
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await ws.close();
        await http.stop();
        await app.close();
      })());
    return { app, http, ws, stop };
  } catch (error) {
    await app.close();
    throw error;
  }
};

/**
 * A stray rejection must not take every in-flight stream down with the
 * process: it is logged and counted (/health, /metrics), never fatal.
 */
export const installProcessGuards = (app: Pick<App, 'supervisor'>): void => {
  process.on('unhandledRejection', (reason) => app.supervisor.unhandledRejection(reason));
};

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  try {
    const service = await startService(process.env);
    const shutdown = (signal: string) => {
      service.app.logger.info({ signal }, 'shutting down: settling in-flight requests');
      service
        .stop()
        .then(() => process.exit(0))
        .catch((error: unknown) => {
          service.app.logger.error({ err: (error as Error).message }, 'shutdown failed');
          process.exit(1);
        });
    };
    installProcessGuards(service.app);
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}
