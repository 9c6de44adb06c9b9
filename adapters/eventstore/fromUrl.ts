import type { EventStore } from '../../application/ports/eventStore.js';
import { makeMemoryEventStore } from './memory/memoryEventStore.js';

/**
 * Opens the store named by `EVENT_STORE`. The durable adapters are loaded on
 * demand so that, say, the CLI on SQLite never loads the gRPC stack.
 */
export const DEFAULT_EVENT_STORE = 'sqlite:data/ledger.db';

export class BadStoreUrl extends Error {}

export const storeKind = (url: string): 'memory' | 'sqlite' | 'postgres' | 'esdb' => {
  if (url === 'memory:' || url === 'memory') return 'memory';
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  if (url.startsWith('esdb://') || url.startsWith('esdb+discover://')) return 'esdb';
  throw new BadStoreUrl(`EVENT_STORE must be memory:, sqlite:<path>, postgres://... or esdb://...; got "${url}"`);
};

export const openEventStore = async (url: string = DEFAULT_EVENT_STORE): Promise<EventStore> => {
  switch (storeKind(url)) {
    case 'memory':
      return makeMemoryEventStore();
    case 'sqlite': {
      const sqlite = await import('./sqlite/index.js');
      return sqlite.openSqliteEventStoreFromUrl(url);
    }
    case 'postgres': {
      const postgres = await import('./postgres/index.js');
      return postgres.openPostgresEventStoreFromUrl(url);
    }
    case 'esdb': {
      const esdb = await import('./esdb/index.js');
      return esdb.openEsdbEventStoreFromUrl(url);
    }
  }
};
