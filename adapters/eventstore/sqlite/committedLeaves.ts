import type { HashKernel } from '../../../application/hashKernel.js';

/**
 * Leaf hashes of rows a COMMIT made durable, computed from the texts the
 * writer inserted rather than from a read back.
 *
 * `hashCommittedRows` runs inside the worker threads, which are started from
 * source text (sqliteWriter.ts, sqliteHasher.ts): it is injected there with
 * `toString()`, so it must be self-contained and use only its parameters and
 * globals. The writer thread calls it when it hashes its own commits; the
 * hashing thread calls it on rows the writer forwarded to it.
 */

/** An inserted row, as the store's reader would get it back: position, stream, revision, type, data, metadata, commit time. */
export type CommittedRow = [position: number, streamName: string, revision: number, type: string, data: string, metadata: string, committedAt: number];

/** Leaf hashes of the events one COMMIT made durable: positions in order, 32 bytes per event (the `HashedRange` layout). */
export type CommittedLeaves = { readonly positions: Float64Array; readonly leafHashes: Uint8Array };

/* istanbul ignore next -- runs in worker threads from its source text, where coverage counters do not exist. */
export function hashCommittedRows(kernel: HashKernel, rows: readonly CommittedRow[]): CommittedLeaves | undefined {
  const BYTES = 32;
  const n = rows.length;
  if (n === 0) return undefined;
  const positions = new Float64Array(n);
  const leafHashes = new Uint8Array(n * BYTES);
  // The data text came from JSON.stringify on the main thread, so when its
  // parsed value is already in canonical shape the text itself is its
  // canonical encoding and need not be written again. The event is built
  // from the texts parsed as the store's reader parses them. A failure costs
  // the follower a read, never a wrong leaf: no leaves at all.
  try {
    for (let i = 0; i < n; i++) {
      const row = rows[i] as CommittedRow;
      const data: unknown = JSON.parse(row[4]);
      const event = { streamName: row[1], revision: row[2], type: row[3], data, metadata: JSON.parse(row[5]) as unknown, committedAt: row[6] };
      positions[i] = row[0];
      leafHashes.set(kernel.leafHash(kernel.leafText(event, kernel.isCanonicalShape(data) ? row[4] : undefined)), i * BYTES);
    }
  } catch {
    return undefined;
  }
  return { positions, leafHashes };
}
