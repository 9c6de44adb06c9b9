import type { UsageReadModel } from '../../application/projections/usageReadModel.js';
import { parsePostgresConnectionString } from '../eventstore/postgres/index.js';
import { parseSqliteConnectionString } from '../eventstore/sqlite/sqliteConnectionString.js';
import { storeKind } from '../eventstore/fromUrl.js';
import { makeMemoryUsageReadModel } from './memoryUsageReadModel.js';
import { makePostgresUsageReadModel } from './postgresUsageReadModel.js';
import { makeSqliteUsageReadModel, usageDbPathFor } from './sqliteUsageReadModel.js';

/**
 * The read model that goes with an EVENT_STORE url: memory with memory,
 * a SQLite file beside the ledger's, PostgreSQL tables in the ledger's
 * schema. EventStoreDB has no tables to put rows in; its read model is a
 * SQLite file (data/esdb.usage.db by default), rebuilt from position 0 if
 * lost, since the projection is derived data (see docs/analytics.md).
 */
export const ESDB_USAGE_DB = 'data/esdb.usage.db';

export const openUsageReadModel = async (storeUrl: string): Promise<UsageReadModel> => {
  switch (storeKind(storeUrl)) {
    case 'memory':
      return makeMemoryUsageReadModel();
    case 'sqlite': {
      const parsed = parseSqliteConnectionString(storeUrl);
      if (parsed._tag === 'Left') throw new Error(parsed.left);
      return makeSqliteUsageReadModel(usageDbPathFor(parsed.right.path));
    }
    case 'postgres':
      return makePostgresUsageReadModel(parsePostgresConnectionString(storeUrl));
    case 'esdb':
      return makeSqliteUsageReadModel(ESDB_USAGE_DB);
  }
};
