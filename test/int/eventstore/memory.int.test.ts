import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { eventStoreContract } from '../../contract/eventStore.contract.js';

eventStoreContract('memory', async () => makeMemoryEventStore());
