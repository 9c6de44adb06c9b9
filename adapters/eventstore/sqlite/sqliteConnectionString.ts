import * as E from 'fp-ts/lib/Either.js';
import type { Synchronous } from './sqliteSchema.js';

export type SqliteConnection = {
  /** File path, relative to the working directory or absolute. */
  readonly path: string;
  readonly synchronous: Synchronous;
};

/**
 * Parses `EVENT_STORE=sqlite:<path>[?synchronous=full|normal]`:
 *
 *   sqlite:data/ledger.db                      -> data/ledger.db, synchronous FULL (the default)
 *   sqlite:data/ledger.db?synchronous=normal   -> the same file, synchronous NORMAL
 *   sqlite:/var/lib/ledger/ledger.db           -> an absolute path
 *   sqlite:///var/lib/ledger/ledger.db         -> the same (URL style)
 *
 * NORMAL trades durability on power loss (not on a process crash) for fewer
 * fsyncs; see connectionPragmas. In-memory databases are refused: the store
 * writes on its own connection in a worker thread, which could not see them
 * (use `EVENT_STORE=memory:` instead). Returns a message naming the problem.
 */
export const parseSqliteConnectionString = (url: string): E.Either<string, SqliteConnection> => {
  if (!url.startsWith('sqlite:')) return E.left(`not a sqlite: connection string: "${url}"`);
  const rest = url.slice('sqlite:'.length);
  const queryAt = rest.indexOf('?');
  const rawPath = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const path = rawPath.startsWith('///') ? rawPath.slice(2) : rawPath;
  if (path === '' || path.startsWith('//')) return E.left(`sqlite: needs a file path, e.g. sqlite:data/ledger.db; got "${url}"`);
  if (path === ':memory:' || path.startsWith('file:')) return E.left(`sqlite: in-memory and file: URIs are not supported ("${url}"); use memory: for a throwaway store`);
  let synchronous: Synchronous = 'FULL';
  for (const [key, value] of new URLSearchParams(queryAt === -1 ? '' : rest.slice(queryAt + 1))) {
    if (key !== 'synchronous') return E.left(`sqlite: unknown option "${key}" in "${url}" (known: synchronous)`);
    const upper = value.toUpperCase();
    if (upper !== 'FULL' && upper !== 'NORMAL') return E.left(`sqlite: synchronous must be full or normal; got "${value}"`);
    synchronous = upper;
  }
  return E.right({ path, synchronous });
};
