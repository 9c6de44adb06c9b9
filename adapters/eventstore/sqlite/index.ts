import * as E from 'fp-ts/lib/Either.js';
import { parseSqliteConnectionString } from './sqliteConnectionString.js';
import { makeSqliteEventStore, type SqliteEventStore } from './sqliteEventStore.js';

export { parseSqliteConnectionString, type SqliteConnection } from './sqliteConnectionString.js';
export { makeSqliteEventStore, type SqliteEventStore, type SqliteEventStoreOptions } from './sqliteEventStore.js';

/** Opens the store named by `EVENT_STORE=sqlite:<path>[?synchronous=normal]`, creating the file's directory if needed. */
export const openSqliteEventStoreFromUrl = async (url: string): Promise<SqliteEventStore> => {
  const parsed = parseSqliteConnectionString(url);
  if (E.isLeft(parsed)) throw new Error(`EVENT_STORE: ${parsed.left}`);
  return makeSqliteEventStore(parsed.right);
};
