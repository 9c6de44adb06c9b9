import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_EVENT_STORE, storeKind } from './eventstore/fromUrl.js';
import { StartupError, withoutPassword } from './system/startupError.js';

/**
 * Configuration: environment variables decoded once at start-up. A bad value
 * stops the process with a message naming the variable (ConfigError), one
 * line per problem.
 */
export class ConfigError extends StartupError {}

const intFrom = (name: string, min: number, max: number) =>
  new t.Type<number, string, unknown>(
    name,
    (u): u is number => typeof u === 'number',
    (u, c) => {
      if (typeof u !== 'string' || !/^\d+$/.test(u.trim())) return t.failure(u, c, `must be a whole number between ${min} and ${max}`);
      const n = Number(u);
      return n >= min && n <= max ? t.success(n) : t.failure(u, c, `must be between ${min} and ${max}`);
    },
    String,
  );

const DURATION_UNITS_S: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration in whole seconds, written `3600`, `3600s`, `60m`, `12h` or `30d`; between min and max seconds. */
const durationSeconds = (min: number, max: number) =>
  new t.Type<number, string, unknown>(
    'DurationSeconds',
    (u): u is number => typeof u === 'number',
    (u, c) => {
      const match = typeof u === 'string' ? /^(\d{1,12})([smhd]?)$/.exec(u.trim()) : null;
      if (match === null) return t.failure(u, c, 'must be a duration like 3600, 60m, 12h or 30d');
      const seconds = Number(match[1]) * (DURATION_UNITS_S[match[2] || 's'] ?? 1);
      return seconds >= min && seconds <= max ? t.success(seconds) : t.failure(u, c, `must be between ${min} and ${max} seconds`);
    },
    String,
  );

const urlString = (protocols: readonly string[]) =>
  new t.Type<string, string, unknown>(
    'Url',
    (u): u is string => typeof u === 'string',
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c, 'must be a URL');
      try {
        const url = new URL(u);
        return protocols.includes(url.protocol) ? t.success(u) : t.failure(u, c, `must use ${protocols.join(' or ')}`);
      } catch {
        return t.failure(u, c, 'must be a URL');
      }
    },
    String,
  );

const nonEmpty = new t.Type<string, string, unknown>(
  'NonEmptyString',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' && u.trim().length > 0 ? t.success(u.trim()) : t.failure(u, c, 'must not be empty')),
  String,
);

const secret = new t.Type<string, string, unknown>(
  'Secret',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' && u.length >= 32 ? t.success(u) : t.failure(u, c, 'must be at least 32 characters')),
  String,
);

const storeUrl = new t.Type<string, string, unknown>(
  'EventStoreUrl',
  (u): u is string => typeof u === 'string',
  (u, c) => {
    try {
      storeKind(String(u));
      return t.success(String(u));
    } catch (error) {
      return t.failure(u, c, (error as Error).message);
    }
  },
  String,
);

const logLevel = t.keyof({ fatal: null, error: null, warn: null, info: null, debug: null, trace: null, silent: null });

/** Each variable: its codec and its default (undefined = optional). */
const spec = {
  PORT: [intFrom('PORT', 0, 65535), '3000'],
  WS_PORT: [intFrom('WS_PORT', 0, 65535), '3003'],
  HOST: [nonEmpty, '0.0.0.0'],
  PUBLIC_URL: [urlString(['http:', 'https:']), undefined],
  EVENT_STORE: [storeUrl, DEFAULT_EVENT_STORE],
  REDIS_URL: [urlString(['redis:', 'rediss:']), undefined],
  REDIS_PREFIX: [nonEmpty, 'ledger:'],
  JWT_SECRET: [secret, undefined],
  JWT_JWKS_URL: [urlString(['http:', 'https:']), undefined],
  JWT_ISSUER: [nonEmpty, undefined],
  JWT_AUDIENCE: [nonEmpty, undefined],
  // Tokens whose exp lies further in the future than this are refused (issue 11): a token must be containable.
  JWT_MAX_LIFETIME: [durationSeconds(60, 366 * 86_400), '30d'],
  OPENAI_API_KEY: [nonEmpty, undefined],
  OPENAI_BASE_URL: [urlString(['http:', 'https:']), undefined],
  ANTHROPIC_API_KEY: [nonEmpty, undefined],
  ANTHROPIC_BASE_URL: [urlString(['http:', 'https:']), undefined],
  PRICE_SHEET: [nonEmpty, 'config/prices.json'],
  GOOGLE_CLIENT_ID: [nonEmpty, undefined],
  GOOGLE_CLIENT_SECRET: [nonEmpty, undefined],
  GOOGLE_ISSUER: [urlString(['http:', 'https:']), 'https://accounts.google.com'],
  RATE_LIMIT_REQUESTS_PER_MIN: [intFrom('RATE_LIMIT_REQUESTS_PER_MIN', 1, 1_000_000), '60'],
  RATE_LIMIT_TOKENS_PER_MIN: [intFrom('RATE_LIMIT_TOKENS_PER_MIN', 1, 1_000_000_000), '200000'],
  HOLD_TTL_MS: [intFrom('HOLD_TTL_MS', 1000, 86_400_000), '600000'],
  SWEEP_INTERVAL_MS: [intFrom('SWEEP_INTERVAL_MS', 100, 3_600_000), '30000'],
  // A settle retried after a store outage lands before any sweep expires its hold (longer than the 30 s retry cap).
  HOLD_EXPIRY_GRACE_MS: [intFrom('HOLD_EXPIRY_GRACE_MS', 0, 3_600_000), '60000'],
  HOLD_PROGRESS_MS: [intFrom('HOLD_PROGRESS_MS', 100, 600_000), '5000'],
  STREAM_MAX_MS: [intFrom('STREAM_MAX_MS', 1000, 86_400_000), '1800000'],
  WS_MAX_PAYLOAD_BYTES: [intFrom('WS_MAX_PAYLOAD_BYTES', 1024, 16_777_216), '1048576'],
  WS_MAX_CONNECTIONS_PER_USER: [intFrom('WS_MAX_CONNECTIONS_PER_USER', 1, 10_000), '20'],
  WS_MAX_INFLIGHT_PER_CONNECTION: [intFrom('WS_MAX_INFLIGHT_PER_CONNECTION', 1, 1000), '8'],
  WS_HEARTBEAT_MS: [intFrom('WS_HEARTBEAT_MS', 50, 600_000), '30000'],
  RESUME_WINDOW_MS: [intFrom('RESUME_WINDOW_MS', 0, 3_600_000), '60000'],
  HTTP_MAX_BODY_BYTES: [intFrom('HTTP_MAX_BODY_BYTES', 1024, 16_777_216), '65536'],
  LOG_LEVEL: [logLevel, 'info'],
  // The OAuth authorization server's static clients (GPT builders'), written by `ledger oauth-clients add`.
  OAUTH_CLIENTS_FILE: [nonEmpty, 'data/oauth-clients.json'],
  // The provable ledger (docs/audit.md).
  LEDGER_SIGNING_KEY_FILE: [nonEmpty, undefined],
  LEDGER_ORIGIN: [nonEmpty, 'credit-ledger.local/log'],
  LEDGER_STATE_DIR: [nonEmpty, undefined],
  CHECKPOINT_EVERY: [intFrom('CHECKPOINT_EVERY', 1, 1_000_000_000), '1000'],
  CHECKPOINT_INTERVAL_MS: [intFrom('CHECKPOINT_INTERVAL_MS', 100, 86_400_000), '60000'],
  NODE_ENV: [nonEmpty, 'development'],
  STORE_CONNECT_TIMEOUT_MS: [intFrom('STORE_CONNECT_TIMEOUT_MS', 100, 600_000), String(DEFAULT_CONNECT_TIMEOUT_MS)],
} as const;

/**
 * What production refuses to start without, one line each. Without a
 * configured JWT key the service would generate one per run (tokens die with
 * the process) and without PUBLIC_URL the sign-in redirect and the OpenAPI
 * servers would name whatever host a request claimed.
 */
const productionProblems = (out: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): string[] => {
  if (out['NODE_ENV'] !== 'production') return [];
  const missing = (name: string) => env[name] === undefined || env[name] === '';
  const problems: string[] = [];
  if (missing('JWT_SECRET') && missing('JWT_JWKS_URL')) problems.push('JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production (no generated secret in production)');
  if (missing('PUBLIC_URL')) problems.push('PUBLIC_URL is required when NODE_ENV=production (the external https:// address of the REST API)');
  if (missing('LEDGER_SIGNING_KEY_FILE')) problems.push('LEDGER_SIGNING_KEY_FILE is required when NODE_ENV=production (the key that signs audit checkpoints)');
  return problems;
};

/** What a rejected value may show: secrets not at all, URLs without their password. */
const shown = (name: string, raw: string): string =>
  name.includes('SECRET') || name.includes('KEY') ? '[redacted]' : withoutPassword(raw);

/**
 * Every variable the service reads (deployment files are checked against it):
 * the decoded ones, and those only the production check names.
 */
export const CONFIG_VARIABLES: ReadonlySet<string> = new Set([...Object.keys(spec), 'JWT_SECRET', 'JWT_JWKS_URL', 'PUBLIC_URL', 'LEDGER_SIGNING_KEY_FILE']);

type Spec = typeof spec;
type Decoded<K extends keyof Spec> = t.TypeOf<Spec[K][0]>;
export type Config = {
  readonly [K in keyof Spec as Spec[K][1] extends string ? K : never]: Decoded<K>;
} & {
  readonly [K in keyof Spec as Spec[K][1] extends string ? never : K]?: Decoded<K>;
};

export const loadConfig = (env: Readonly<Record<string, string | undefined>>): Config => {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, [codec, fallback]] of Object.entries(spec) as [string, readonly [t.Mixed, string | undefined]][]) {
    const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
    if (raw === undefined) continue;
    const decoded = codec.decode(raw);
    if (E.isLeft(decoded)) {
      const message = decoded.left[0]?.message ?? 'is invalid';
      problems.push(`${name} ${message} (got "${shown(name, raw)}")`);
    } else out[name] = decoded.right;
  }
  if (out['JWT_SECRET'] !== undefined && out['JWT_JWKS_URL'] !== undefined) problems.push('set JWT_SECRET or JWT_JWKS_URL, not both');
  problems.push(...productionProblems(out, env));
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return out as Config;
};
