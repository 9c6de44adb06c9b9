import type { EventStore, RecordedEvent } from '../ports/eventStore.js';
import { eventLeafHash } from './eventLeaf.js';
import { toHex } from './hashing.js';

/**
 * A receipt names the event a charge or grant became: its global position
 * and its leaf hash in the Merkle log. With it a client can later ask for an
 * inclusion proof against any checkpoint and check, offline, that its charge
 * is in the history the ledger signed (docs/audit.md).
 */
export type Receipt = { readonly position: number; readonly leafHash: string };

const WINDOW = 16;
/** How far back a replayed (idempotent) command's event is looked for. */
const MAX_LOOKBACK = 4096;

export const receiptOf = (event: RecordedEvent): Receipt => ({ position: event.position, leafHash: toHex(eventLeafHash(event)) });

/**
 * The receipt of the newest event of `streamName` at or before `lastRevision`
 * that `match` accepts, reading backwards in small windows (the event is
 * almost always the last one). Undefined if none is found within the bound.
 */
export const findReceipt = async (
  store: EventStore,
  streamName: string,
  lastRevision: number,
  match: (event: RecordedEvent) => boolean,
): Promise<Receipt | undefined> => {
  let until = lastRevision;
  // The event is nearly always the newest one: the first read takes it alone, later reads a window.
  let size = 1;
  while (until >= 0 && lastRevision - until < MAX_LOOKBACK) {
    const from = Math.max(0, until - size + 1);
    size = WINDOW;
    const window: RecordedEvent[] = [];
    for await (const event of store.readStream(streamName, { fromRevision: from, maxCount: until - from + 1 })) window.push(event);
    for (let i = window.length - 1; i >= 0; i--) {
      const event = window[i] as RecordedEvent;
      if (match(event)) return receiptOf(event);
    }
    until = from - 1;
  }
  return undefined;
};
