import { makePostgresEventStore, type PostgresEventStore } from './postgresEventStore.js';

export { makePostgresEventStore, type PostgresEventStore, type PostgresEventStoreOptions } from './postgresEventStore.js';

/** The schema used when `EVENT_STORE` names none. */
export const DEFAULT_POSTGRES_SCHEMA = 'ledger';

/**
 * Splits `EVENT_STORE=postgres://user@host:5432/db[?schema=name&...]` into the
 * connection string handed to `pg` (without our `schema` option) and the
 * schema holding the tables (default `ledger`).
 */
export const parsePostgresConnectionString = (url: string): { readonly connectionString: string; readonly schema: string } => {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? DEFAULT_POSTGRES_SCHEMA;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
};

export const openPostgresEventStoreFromUrl = async (url: string): Promise<PostgresEventStore> =>
  makePostgresEventStore(parsePostgresConnectionString(url));
