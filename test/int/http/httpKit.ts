import type { Server, ServerInjectOptions, ServerInjectResponse } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { App, AppOverrides } from '../../../adapters/app.js';
import { buildApp } from '../../../adapters/app.js';
import { mintDevToken } from '../../../adapters/auth/jwtMint.js';
import { loadConfig } from '../../../adapters/config.js';
import type { HttpExtras } from '../../../adapters/http/server.js';
import { makeHttpServer } from '../../../adapters/http/server.js';
import { makeLogger } from '../../../adapters/logging.js';
import type { Role } from '../../../domain/permissions/policy.js';

/**
 * A REST server on an in-memory ledger for `server.inject` tests: real
 * buildApp wiring (in-process limiter and session store unless env says
 * otherwise), HS256 tokens minted with the configured secret.
 */
export const SECRET = 'http-test-secret-0123456789abcdef-0123456789';

export type Kit = {
  readonly app: App;
  readonly server: Server;
  readonly token: (sub: string, options?: Parameters<typeof mintDevToken>[2]) => Promise<string>;
  readonly as: (sub: string) => Promise<Record<string, string>>;
  readonly inject: (options: ServerInjectOptions) => Promise<ServerInjectResponse>;
  readonly grant: (userId: string, amount: number) => Promise<void>;
  readonly assignRole: (userId: string, role: Role) => Promise<void>;
  readonly close: () => Promise<void>;
};

export type KitOptions = {
  readonly env?: Readonly<Record<string, string>>;
  /** Replaces parts of the built App (a failing limiter, a verifier whose keys are down...). */
  readonly patch?: (app: App) => App;
  readonly extras?: HttpExtras;
  readonly overrides?: AppOverrides;
  readonly logger?: ReturnType<typeof makeLogger>;
};

export const makeKit = async (options: KitOptions = {}): Promise<Kit> => {
  const env = { EVENT_STORE: 'memory:', JWT_SECRET: SECRET, LOG_LEVEL: 'silent', SWEEP_INTERVAL_MS: '3600000', ...options.env };
  const built = await buildApp(loadConfig(env), env, options.logger ?? makeLogger('silent'), options.overrides ?? {});
  const app = options.patch === undefined ? built : options.patch(built);
  const server = await makeHttpServer(app, options.extras ?? {});
  const token = (sub: string, mint?: Parameters<typeof mintDevToken>[2]) => mintDevToken(SECRET, sub, mint);
  return {
    app,
    server,
    token,
    as: async (sub) => ({ authorization: `Bearer ${await token(sub)}` }),
    inject: (o) => server.inject(o),
    grant: async (userId, amount) => {
      const result = await app.ledger.grant({ accountId: userId, grantId: `seed-${userId}-${amount}-${Math.random()}`, amount });
      if (E.isLeft(result)) throw new Error(`seed grant failed: ${result.left._tag}`);
    },
    assignRole: async (userId, role) => {
      const result = await app.access.change(userId, { userId: 'cli:test', trusted: true }, { type: 'AssignRole', role });
      if (E.isLeft(result)) throw new Error(`assign role failed: ${result.left._tag}`);
    },
    close: async () => {
      await server.stop();
      await built.close();
    },
  };
};

/** The parsed JSON body of a response (problem or not). */
export const json = (response: ServerInjectResponse): Record<string, unknown> => JSON.parse(response.payload) as Record<string, unknown>;

/** Asserts the shape of an RFC 9457 response and returns its body. */
export const problemOf = (response: ServerInjectResponse, status: number, slug: string): Record<string, unknown> => {
  const body = json(response);
  const summary = { status: response.statusCode, type: body['type'], contentType: response.headers['content-type'] };
  const expected = { status, type: `/problems/${slug}`, contentType: 'application/problem+json' };
  if (JSON.stringify(summary) !== JSON.stringify(expected)) {
    throw new Error(`expected problem ${JSON.stringify(expected)}, got ${JSON.stringify(summary)}: ${response.payload}`);
  }
  if (body['status'] !== status || typeof body['title'] !== 'string' || typeof body['instance'] !== 'string') {
    throw new Error(`malformed problem body: ${response.payload}`);
  }
  return body;
};
