import { checkpointText, signCheckpoint, type Checkpoint } from '../checkpoints/checkpoint.js';
import type { CheckpointStore } from '../ports/checkpointStore.js';
import type { EventStore, RecordedEvent, Subscription } from '../ports/eventStore.js';
import type { HashedRange, HashedReads } from '../ports/hashedReads.js';
import type { NoteSigner } from '../ports/signer.js';
import type { Supervisor } from '../supervisor.js';
import { eventLeafHash } from './eventLeaf.js';
import { HASH_BYTES, toHex, type Hash } from './hashing.js';
import { makeMerkleTree } from './tree.js';

/**
 * The ledger's Merkle log, kept by a follower of the global order: a
 * catch-up subscription hashes each event into the tree after it was
 * committed, so an append never waits for it. Leaf i is the i-th event of
 * the global order; its store position is kept beside it (they are equal
 * except on EventStoreDB, whose positions are byte offsets).
 *
 * Every `checkpointEvery` new events, and whenever `checkpointNow` is called
 * (the adapter does it every CHECKPOINT_INTERVAL_MS), the current root is
 * signed as a C2SP checkpoint and saved.
 *
 * With `hashedReads` (SQLite: a worker thread reads and hashes new events)
 * the follower receives ranges of leaf hashes instead of events, so beside
 * the request path this thread only appends to the tree (about one node hash
 * per event) and never reads, parses or encodes an event. Checkpoints fall
 * on the same sizes either way: the check runs after every leaf.
 */
export type LedgerLogDeps = {
  readonly store: EventStore;
  readonly signer: NoteSigner;
  readonly origin: string;
  readonly checkpoints: CheckpointStore;
  readonly checkpointEvery: number;
  readonly onError?: (error: unknown) => void;
  readonly hashedReads?: HashedReads;
  /**
   * The supervisor: when the follower's subscription ends in an error (the
   * store went away), the failure is counted (task `ledger log`) and the
   * follower starts again after the backoff, after its last leaf. Without
   * one a failed follower stays stopped.
   */
  readonly supervisor?: Pick<Supervisor, 'resubscribe'>;
};

export type InclusionAnswer = { readonly position: number; readonly leafIndex: number; readonly treeSize: number; readonly leafHash: string; readonly proof: string[] };

export class LogRangeError extends Error {}

export const makeLedgerLog = (deps: LedgerLogDeps) => {
  const tree = makeMerkleTree();
  const positions: number[] = [];
  let signedSize = -1;
  let latestNote: string | undefined;
  let subscription: Subscription | undefined;
  const waiters = new Set<{ position: number; resolve: () => void }>();

  const checkpointNow = async (): Promise<string> => {
    const size = tree.size();
    if (size === signedSize && latestNote !== undefined) return latestNote;
    const checkpoint: Checkpoint = { origin: deps.origin, size, root: tree.root(size) };
    const note = signCheckpoint(checkpoint, deps.signer);
    signedSize = size;
    latestNote = note;
    await deps.checkpoints.save(note, checkpoint);
    return note;
  };

  /** Adds one leaf; true when a checkpoint is due. */
  const addLeaf = (leaf: Hash, position: number): boolean => {
    tree.append(leaf);
    positions.push(position);
    for (const waiter of waiters) if (waiter.position <= position) waiter.resolve();
    return tree.size() - Math.max(signedSize, 0) >= deps.checkpointEvery;
  };

  const onEvent = async (event: RecordedEvent) => {
    if (addLeaf(eventLeafHash(event), event.position)) await checkpointNow();
  };

  const onRange = async (range: HashedRange) => {
    for (let i = 0; i < range.positions.length; i++) {
      if (addLeaf(range.leafHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), range.positions[i] as number)) await checkpointNow();
    }
  };

  /** Subscribes after the last leaf, so a restart never hashes an event into the tree twice. */
  const open = (onError: (error: unknown) => void): Subscription => {
    const last = positions[positions.length - 1];
    const options = { onError, ...(last === undefined ? {} : { after: last }) };
    return deps.hashedReads === undefined ? deps.store.subscribeToAll(onEvent, options) : deps.hashedReads.subscribeToLeafHashes(onRange, options);
  };

  /** Leaf index of a store position, by binary search (positions increase). */
  const indexOf = (position: number): number | undefined => {
    let low = 0;
    let high = positions.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const at = positions[mid] as number;
      if (at === position) return mid;
      if (at < position) low = mid + 1;
      else high = mid - 1;
    }
    return undefined;
  };

  const sizeFor = (size: number | undefined): number => {
    const n = size ?? tree.size();
    if (!Number.isSafeInteger(n) || n < 0 || n > tree.size()) throw new LogRangeError(`tree size ${n} is not within 0..${tree.size()}`);
    return n;
  };

  return {
    start: async (): Promise<void> => {
      latestNote = await deps.checkpoints.latest();
      const onError = (error: unknown) => deps.onError?.(error);
      subscription = deps.supervisor === undefined ? open(onError) : deps.supervisor.resubscribe('ledger log', open);
      await subscription.caughtUp;
    },
    stop: async () => {
      await subscription?.stop();
      for (const waiter of waiters) waiter.resolve();
    },
    size: () => tree.size(),
    root: (size?: number) => tree.root(sizeFor(size)),
    checkpointNow,
    /** The newest signed checkpoint (signing one first if none exists yet). */
    latest: async (): Promise<string> => latestNote ?? (await checkpointNow()),
    checkpointText: (size?: number) => {
      const n = sizeFor(size);
      return checkpointText({ origin: deps.origin, size: n, root: tree.root(n) });
    },
    /** Resolves once the event at `position` is in the tree, or after `timeoutMs` (false). */
    waitFor: (position: number, timeoutMs: number): Promise<boolean> => {
      if ((positions[positions.length - 1] ?? -1) >= position) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = {
          position,
          resolve: () => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve((positions[positions.length - 1] ?? -1) >= position);
          },
        };
        const timer = setTimeout(waiter.resolve, timeoutMs);
        waiters.add(waiter);
      });
    },
    leafHashAt: (position: number): string | undefined => {
      const index = indexOf(position);
      return index === undefined ? undefined : toHex(tree.leaf(index));
    },
    inclusion: (position: number, size?: number): InclusionAnswer => {
      const treeSize = sizeFor(size);
      const leafIndex = indexOf(position);
      if (leafIndex === undefined || leafIndex >= treeSize) throw new LogRangeError(`position ${position} is not in the log of size ${treeSize}`);
      const proof = tree.inclusionProof(leafIndex, treeSize).map(toHex);
      return { position, leafIndex, treeSize, leafHash: toHex(tree.leaf(leafIndex)), proof };
    },
    consistency: (from: number, to?: number): { from: number; to: number; proof: string[] } => {
      const end = sizeFor(to);
      if (!Number.isSafeInteger(from) || from < 0 || from > end) throw new LogRangeError(`size ${from} is not within 0..${end}`);
      return { from, to: end, proof: tree.consistencyProof(from, end).map(toHex) };
    },
  };
};

export type LedgerLog = ReturnType<typeof makeLedgerLog>;
export type { Hash };
