import { pathToFileURL } from 'node:url';
import type { App, AppOverrides } from './app.js';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import type { HttpServer } from './http/server.js';
import { startHttpServer } from './http/server.js';
import { makeLogger } from './logging.js';
import { openFileLimitReport, type OpenFileLimitReport } from './system/openFileLimit.js';
import { causeOf, StartupError } from './system/startupError.js';
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
    const ws = await listening('WS_PORT', config.HOST, config.WS_PORT, () => startWsServer(app));
    const http = await listening('PORT', config.HOST, config.PORT, () => startHttpServer(app, { gatewayStats: ws.stats })).catch(async (error: unknown) => {
      await ws.close();
      throw error;
    });
    logger.info(
      { rest: http.url, websocket: ws.url, store: app.store.kind, providers: app.llm.providers.map((p) => `${p.name}:${p.kind}`) },
      'credit ledger gateway started',
    );
    announceDevSecret(app);
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

/** Binding a port: EADDRINUSE and EACCES become one line naming the variable. */
const listening = async <T>(variable: 'PORT' | 'WS_PORT', host: string, port: number, start: () => Promise<T>): Promise<T> => {
  try {
    return await start();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') throw new StartupError(`${variable} ${port}: ${host}:${port} is already in use (another process listens there; choose another ${variable})`);
    if (code === 'EACCES') throw new StartupError(`${variable} ${port}: not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`HOST ${host}: no such local address (${causeOf(error)})`);
    throw error;
  }
};

/**
 * Says where the generated development secret is, once the service is up (a
 * run that fails prints nothing about it). The secret itself is printed only
 * to a terminal, and only when there is no file to read it from.
 */
const announceDevSecret = (app: App): void => {
  if (app.devSecret === undefined) return;
  if (app.devSecret.file !== undefined) {
    app.logger.warn({ devJwtSecretFile: app.devSecret.file }, 'no JWT_SECRET or JWT_JWKS_URL: using the development secret in this file (mode 0600); `npx ledger token <user>` reads it');
    return;
  }
  app.logger.warn('no JWT_SECRET or JWT_JWKS_URL: generated a development secret for this run only');
  if (process.stdout.isTTY === true && app.jwtSecret !== undefined) process.stdout.write(`development JWT secret (this run only): ${app.jwtSecret}\n`);
};

/** The open-file limit: the connections it leaves room for, and a warning when that is few. */
export const reportOpenFiles = (logger: Pick<AppLogger, 'info' | 'warn'>, report: OpenFileLimitReport | undefined): void => {
  if (report === undefined) return;
  const fields = { openFiles: report.limit, websocketConnections: report.connections };
  if (report.advice !== undefined) logger.warn(fields, report.advice);
  else logger.info(fields, 'open-file limit');
};

/** One line for the operator; the stack only with LOG_LEVEL=debug (or trace). */
const reportStartupFailure = (error: unknown, env: Readonly<Record<string, string | undefined>>): void => {
  const debug = env['LOG_LEVEL'] === 'debug' || env['LOG_LEVEL'] === 'trace';
  const line = error instanceof StartupError ? error.message : `start-up failed: ${causeOf(error)}`;
  process.stderr.write(`${line}\n`);
  if (debug && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
};

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  try {
    const service = await startService(process.env);
    reportOpenFiles(service.app.logger, openFileLimitReport());
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
    reportStartupFailure(error, process.env);
    process.exit(1);
  }
}
