import * as E from 'fp-ts/lib/Either.js';
import { checkpointText, parseCheckpointText, signCheckpoint, type Checkpoint } from '../checkpoints/checkpoint.js';
import { ALG_ED25519, keyId, parseNote } from '../checkpoints/note.js';
import type { CheckpointStore } from '../ports/checkpointStore.js';
import type { EventStore, RecordedEvent, Subscription } from '../ports/eventStore.js';
import type { HashedRange, HashedReads } from '../ports/hashedReads.js';
import type { NoteSigner } from '../ports/signer.js';
import type { Supervisor } from '../supervisor.js';
import { eventLeafHash } from './eventLeaf.js';
import { HASH_BYTES, toHex, type Hash } from './hashing.js';
import { makeMerkleTree, type MerkleTree } from './tree.js';

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

/**
 * The newest checkpoint this log saved, against the tree rebuilt from the
 * store at start-up. `rolledBack` (the store holds fewer events than that
 * checkpoint committed to) and `rewritten` (the first `size` events no longer
 * hash to its root) mean the store was restored from an older copy, cut, or
 * edited: signing a checkpoint now would put two inconsistent histories under
 * one key, which is exactly what witnesses and auditors must catch a log
 * doing. `none`: nothing saved, or saved under another origin or key (a new
 * log identity).
 */
export type HistoryCheck =
  | { readonly kind: 'none' }
  | { readonly kind: 'consistent'; readonly saved: number; readonly size: number }
  | { readonly kind: 'rolledBack'; readonly saved: number; readonly size: number }
  | { readonly kind: 'rewritten'; readonly saved: number; readonly size: number }
  | { readonly kind: 'unreadable'; readonly reason: string };

/** A saved checkpoint note against `tree` as it is now (HistoryCheck); `signer` and `origin` say which log is this one. */
export const checkHistory = (saved: string | undefined, tree: Pick<MerkleTree, 'size' | 'root'>, signer: NoteSigner, origin: string): HistoryCheck => {
  if (saved === undefined) return { kind: 'none' };
  const note = parseNote(saved);
  if (E.isLeft(note)) return { kind: 'unreadable', reason: note.left };
  const ours = keyId(signer.name, ALG_ED25519, signer.publicKey);
  const signedByUs = note.right.signatures.some((sig) => sig.name === signer.name && Buffer.from(sig.keyId).equals(Buffer.from(ours)));
  const checkpoint = parseCheckpointText(note.right.text);
  if (E.isLeft(checkpoint)) return { kind: 'unreadable', reason: checkpoint.left };
  if (!signedByUs || checkpoint.right.origin !== origin) return { kind: 'none' };
  const { size: savedSize, root } = checkpoint.right;
  const size = tree.size();
  if (savedSize > size) return { kind: 'rolledBack', saved: savedSize, size };
  return Buffer.from(tree.root(savedSize)).equals(Buffer.from(root)) ? { kind: 'consistent', saved: savedSize, size } : { kind: 'rewritten', saved: savedSize, size };
};

export type InclusionAnswer = { readonly position: number; readonly leafIndex: number; readonly treeSize: number; readonly leafHash: string; readonly proof: string[] };

export class LogRangeError extends Error {}

export const makeLedgerLog = (deps: LedgerLogDeps) => {
  const tree = makeMerkleTree();
  const positions: number[] = [];
  let signedSize = -1;
  let latestNote: string | undefined;
  let subscription: Subscription | undefined;
  // False only while `start` catches up: nothing is signed before the history check has been passed.
  let signing = true;
  const waiters = new Set<{ position: number; resolve: () => void }>();

  const checkpointNow = async (): Promise<string> => {
    if (!signing) throw new Error('ledger log: no checkpoint is signed before start-up has checked the history');
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
    return signing && tree.size() - Math.max(signedSize, 0) >= deps.checkpointEvery;
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

  let history: HistoryCheck = { kind: 'none' };

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
    /**
     * Catches the tree up with the store, then checks it against the newest
     * saved checkpoint (HistoryCheck) and hands the result to `beforeSigning`,
     * which may throw to refuse it (the subscription is then stopped and
     * `start` rejects). Nothing is signed while this runs.
     */
    start: async (options: { readonly beforeSigning?: (history: HistoryCheck) => void } = {}): Promise<void> => {
      const saved = await deps.checkpoints.latest();
      latestNote = saved;
      const onError = (error: unknown) => deps.onError?.(error);
      signing = false;
      subscription = deps.supervisor === undefined ? open(onError) : deps.supervisor.resubscribe('ledger log', open);
      try {
        await subscription.caughtUp;
        history = checkHistory(saved, tree, deps.signer, deps.origin);
        options.beforeSigning?.(history);
      } catch (error) {
        await subscription.stop();
        throw error;
      }
      signing = true;
    },
    /** How the store, as `start` found it, relates to the newest checkpoint saved before. */
    history: (): HistoryCheck => history,
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
