import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { DEFAULT_EVENT_STORE, storeKind } from '../eventstore/fromUrl.js';
import { parseSqliteConnectionString } from '../eventstore/sqlite/sqliteConnectionString.js';

/**
 * The development JWT secret, used only when neither JWT_SECRET nor
 * JWT_JWKS_URL is set (production refuses to start that way). It is never
 * logged: it lives in `dev-jwt-secret` (mode 0600) beside the SQLite ledger,
 * so it survives restarts and `ledger token` on the same machine finds it
 * without anyone copying it from a terminal. With a store that has no
 * directory (memory:) it is kept for the run only.
 */
export const DEV_SECRET_FILE = 'dev-jwt-secret';

/** Where the dev secret of this EVENT_STORE lives, or undefined for memory:. */
export const devSecretPath = (eventStore: string = DEFAULT_EVENT_STORE): string | undefined => {
  let kind: ReturnType<typeof storeKind>;
  try {
    kind = storeKind(eventStore);
  } catch {
    return undefined;
  }
  if (kind === 'memory') return undefined;
  if (kind !== 'sqlite') return resolve('data', DEV_SECRET_FILE);
  const parsed = parseSqliteConnectionString(eventStore);
  return E.isRight(parsed) ? join(dirname(resolve(parsed.right.path)), DEV_SECRET_FILE) : undefined;
};

/** The secret stored at `path`, if a usable one is there. */
export const readDevSecret = (path: string | undefined): string | undefined => {
  if (path === undefined || !existsSync(path)) return undefined;
  const secret = readFileSync(path, 'utf8').trim();
  return secret.length >= 32 ? secret : undefined;
};

/** Reuses the stored secret or creates one, readable by its owner only. */
export const loadOrCreateDevSecret = (path: string | undefined): { readonly secret: string; readonly file: string | undefined } => {
  const existing = readDevSecret(path);
  if (existing !== undefined) return { secret: existing, file: path };
  const secret = randomBytes(32).toString('base64url');
  if (path === undefined) return { secret, file: undefined };
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  // The mode given to writeFileSync is masked by the umask and ignored for an existing file.
  chmodSync(path, 0o600);
  return { secret, file: path };
};
