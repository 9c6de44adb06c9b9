import type { SubscribeOptions, Subscription } from './eventStore.js';

/**
 * Hashes of the global order, computed off the caller's thread: an optional
 * capability of a store (SQLite has it, with a worker thread that reads its
 * own pages and hashes them). The audit and the ledger log use it when they
 * are given one and hash on their own thread otherwise, so every store works
 * with or without it.
 *
 * The hashes are exactly those of ../hashKernel.ts (the same code runs in
 * the thread), packed 32 bytes per event so a page crosses threads as one
 * transferred buffer instead of thousands of objects.
 */
export type HashedRange = {
  /** Store positions of the events, in global order. */
  readonly positions: Float64Array;
  /** RFC 9162 leaf hash of event i at bytes 32i..32i+32 (merkle/eventLeaf.ts). */
  readonly leafHashes: Uint8Array;
  /** The chain hash recomputed from event i's content, likewise (integrity.ts `recomputeHash`, as bytes); only when asked for. */
  readonly chainHashes?: Uint8Array;
};

export type HashedReads = {
  /** Hashes of up to `maxCount` events after position `after` (-1: from the start); fewer at the end of the log. */
  readonly hashRange: (after: number, maxCount: number, withChain: boolean) => Promise<HashedRange>;
  /** Like `subscribeToAll`, but delivers leaf hashes a range at a time (never an empty one), in global order. */
  readonly subscribeToLeafHashes: (handler: (range: HashedRange) => Promise<void> | void, options?: SubscribeOptions) => Subscription;
};
