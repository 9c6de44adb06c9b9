import type { EventStore } from '../../../application/ports/eventStore.js';
import { makeEsdbEventStore } from './esdbEventStore.js';

export { makeEsdbEventStore, type EsdbEventStoreOptions } from './esdbEventStore.js';

/**
 * Opens the EventStoreDB store for `EVENT_STORE=esdb://...` (or
 * `esdb+discover://...`): the URL is handed to the client unchanged, so every
 * connection-string option it knows (tls, keepAlive, defaultDeadline, node
 * preference) works. Connecting is lazy; the first call reaches the server.
 */
export const openEsdbEventStoreFromUrl = async (url: string): Promise<EventStore> => makeEsdbEventStore({ connectionString: url });
