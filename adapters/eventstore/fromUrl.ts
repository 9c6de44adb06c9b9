import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import type { HashedReads } from '../../application/ports/hashedReads.js';
import { nativeModuleHint } from '../system/nativeModules.js';
import { causeOf, StartupError, withoutPassword, withTimeout } from '../system/startupError.js';
import { makeMemoryEventStore } from './memory/memoryEventStore.js';
import { parseSqliteConnectionString } from './sqlite/sqliteConnectionString.js';

/**
 * Opens the store named by `EVENT_STORE`. The durable adapters are loaded on
 * demand so that, say, the CLI on SQLite never loads the gRPC stack. Every
 * failure to open is a StartupError naming EVENT_STORE (password hidden) and
 * the cause, and connecting is bounded by a timeout.
 */
export const DEFAULT_EVENT_STORE = 'sqlite:data/ledger.db';

/** Default of STORE_CONNECT_TIMEOUT_MS. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class BadStoreUrl extends Error {}

const esdbSchemes = ['esdb://', 'esdb+discover://', 'kurrentdb://', 'kurrentdb+discover://', 'kurrent://', 'kurrent+discover://'];

export const storeKind = (url: string): 'memory' | 'sqlite' | 'postgres' | 'esdb' => {
  if (url === 'memory:' || url === 'memory') return 'memory';
  if (url.startsWith('sqlite:')) {
    const parsed = parseSqliteConnectionString(url);
    if (E.isLeft(parsed)) throw new BadStoreUrl(parsed.left);
    return 'sqlite';
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  if (esdbSchemes.some((scheme) => url.startsWith(scheme))) return 'esdb';
  throw new BadStoreUrl('must be memory:, sqlite:<path>, postgres://..., kurrentdb://... or esdb://...');
};

/**
 * KurrentDB (the renamed EventStoreDB) speaks the same gRPC protocol, and
 * @eventstore/db-client only parses `esdb` schemes: `kurrentdb://` and
 * `kurrentdb+discover://` (and the short `kurrent`) are rewritten to them.
 */
export const esdbClientUrl = (url: string): string => url.replace(/^kurrent(?:db)?(\+discover)?:\/\//, (_, discover: string | undefined) => `esdb${discover ?? ''}://`);

export type OpenOptions = {
  /** Bound on reaching the store (STORE_CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs?: number;
  /**
   * Read-only callers (the CLI's balance, history, audit) set this: a SQLite
   * file that does not exist is an error instead of a new, empty ledger.
   */
  readonly mustExist?: boolean;
};

const failure = (url: string, cause: string) => new StartupError(`EVENT_STORE ${withoutPassword(url)}: ${cause}`);

/** Creates the SQLite file's directory if needed and checks it can be written, naming the absolute path if not. */
const prepareSqlitePath = (url: string, path: string, mustExist: boolean): void => {
  const file = resolve(path);
  if (mustExist) {
    if (!existsSync(file)) throw failure(url, `no ledger at ${file} (nothing recorded yet, or EVENT_STORE points elsewhere)`);
    return;
  }
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.W_OK);
  } catch (error) {
    throw failure(url, `data directory ${dir} is not writable (${causeOf(error)})`);
  }
};

const openSqlite = async (url: string, mustExist: boolean): Promise<EventStore> => {
  const parsed = parseSqliteConnectionString(url);
  if (E.isLeft(parsed)) throw failure(url, parsed.left);
  prepareSqlitePath(url, parsed.right.path, mustExist);
  try {
    const sqlite = await import('./sqlite/index.js');
    return await sqlite.openSqliteEventStoreFromUrl(url);
  } catch (error) {
    const hint = nativeModuleHint(error);
    if (hint !== undefined) throw new StartupError(hint);
    throw failure(url, `cannot open ${resolve(parsed.right.path)}: ${causeOf(error)}`);
  }
};

/**
 * ESDB/KurrentDB connects lazily: without a first read an unreachable server
 * would only show up on the first request. One read of a stream that need not
 * exist reaches the server (not a $-stream: those need admin rights on a
 * secured server); on timeout the client is disposed.
 */
const openEsdb = async (url: string, timeoutMs: number): Promise<EventStore> => {
  const esdb = await import('./esdb/index.js');
  const store = await esdb.openEsdbEventStoreFromUrl(esdbClientUrl(url));
  const probe = (async () => {
    for await (const _ of store.readStream('ledger-connection-probe', { maxCount: 1 })) break;
  })();
  try {
    await withTimeout(probe, timeoutMs, () => failure(url, `server not reachable within ${timeoutMs} ms (STORE_CONNECT_TIMEOUT_MS)`));
    return store;
  } catch (error) {
    probe.catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error instanceof StartupError ? error : failure(url, `cannot connect: ${causeOf(error)}`);
  }
};

const openPostgres = async (url: string, timeoutMs: number): Promise<EventStore> => {
  const postgres = await import('./postgres/index.js');
  const opening = postgres.openPostgresEventStoreFromUrl(url);
  try {
    return await withTimeout(opening, timeoutMs, () => failure(url, `server not reachable within ${timeoutMs} ms (STORE_CONNECT_TIMEOUT_MS)`));
  } catch (error) {
    // A store that opens after the deadline is closed rather than leaked.
    opening.then((late) => late.close()).catch(() => undefined);
    throw error instanceof StartupError ? error : failure(url, `cannot connect: ${causeOf(error)}`);
  }
};

export const openEventStore = async (url: string = DEFAULT_EVENT_STORE, options: OpenOptions = {}): Promise<EventStore> => {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let kind: ReturnType<typeof storeKind>;
  try {
    kind = storeKind(url);
  } catch (error) {
    throw failure(url, (error as Error).message);
  }
  switch (kind) {
    case 'memory':
      return makeMemoryEventStore();
    case 'sqlite':
      return openSqlite(url, options.mustExist === true);
    case 'postgres':
      return openPostgres(url, timeoutMs);
    case 'esdb':
      return openEsdb(url, timeoutMs);
  }
};

/**
 * The store's hashing thread when it has one (SQLite): the audit and the
 * ledger log then hash off the main thread. Other stores hash on the caller's
 * thread. Ask the store as opened, not a wrapper of it (guard, metrics).
 */
export const hashedReadsOf = (store: EventStore): HashedReads | undefined =>
  'hashedReads' in store ? (store as EventStore & { readonly hashedReads: HashedReads }).hashedReads : undefined;
