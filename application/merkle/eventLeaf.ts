import { canonicalJson } from '../integrity.js';
import type { RecordedEvent } from '../ports/eventStore.js';
import { leafHash, type Hash } from './hashing.js';

/**
 * What a leaf of the ledger's Merkle log commits to: the event's stream,
 * revision, type, data, metadata (its chain hash, previous hash, decision time
 * and correlation id) and the store's commit time, as canonical JSON (keys
 * sorted, no whitespace) in UTF-8. The global position is not inside: it is
 * the leaf's index, which the tree itself fixes.
 */
export const eventLeafText = (event: RecordedEvent): string =>
  canonicalJson({
    committedAt: event.committedAt,
    data: event.data,
    metadata: event.metadata,
    revision: event.revision,
    stream: event.streamName,
    type: event.type,
  });

export const eventLeafHash = (event: RecordedEvent): Hash => leafHash(eventLeafText(event));
