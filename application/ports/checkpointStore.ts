import type { Checkpoint } from '../checkpoints/checkpoint.js';

/** Where signed checkpoints are kept (adapters/ledger/checkpointFile.ts: a sidecar file beside the store). */
export type CheckpointStore = {
  /** The newest saved signed checkpoint note, if any. */
  readonly latest: () => Promise<string | undefined>;
  /** Keeps a signed note for `checkpoint`; a later save replaces the latest, earlier ones stay in the history. */
  readonly save: (note: string, checkpoint: Checkpoint) => Promise<void>;
};
