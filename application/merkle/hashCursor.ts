import type { HashedRange, HashedReads } from '../ports/hashedReads.js';
import { HASH_BYTES, type Hash } from './hashing.js';

/**
 * Walks the hashes a `HashedReads` computes beside a reader of the same
 * global order: `at(position)` answers the hashes of the event at that
 * position, or undefined when the ranges do not hold it (the caller then
 * hashes the event itself, so a surprise can cost time, never a wrong hash).
 *
 * It keeps `depth` ranges requested ahead, so the worker hashes the next
 * ranges while this thread checks the current one; positions only grow, and
 * only at a range's end does `at` wait.
 */
export type HashCursor = {
  readonly at: (position: number) => Promise<{ readonly leaf: Hash; readonly chain: Hash | undefined } | undefined>;
  /** Stops asking for more (requests in flight are awaited and dropped). */
  readonly close: () => Promise<void>;
};

export const makeHashCursor = (reads: HashedReads, options: { readonly rangeSize: number; readonly depth: number; readonly withChain: boolean }): HashCursor => {
  const empty: HashedRange = { positions: new Float64Array(0), leafHashes: new Uint8Array(0) };
  const ahead: Promise<HashedRange>[] = [];
  let after = -1;
  // A short range was the end of the log when it was read: no more read-ahead, but later events are still asked for when needed.
  let atEnd = false;
  let closed = false;
  let current = empty;
  let index = 0;

  // Each range starts after the last position of the previous one, known only
  // once that one arrived: requests are chained, the worker always has the next one queued.
  let tail: Promise<unknown> = Promise.resolve();
  const request = () => {
    const next = tail.then(async () => {
      if (closed) return empty;
      const range = await reads.hashRange(after, options.rangeSize, options.withChain);
      const n = range.positions.length;
      atEnd = n < options.rangeSize;
      if (n > 0) after = range.positions[n - 1] as number;
      return range;
    });
    tail = next.catch(() => undefined);
    ahead.push(next);
  };

  const slice = (bytes: Uint8Array | undefined, i: number) => bytes?.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);

  const at: HashCursor['at'] = async (position) => {
    for (;;) {
      const positions = current.positions;
      while (index < positions.length && (positions[index] as number) < position) index++;
      if (index < positions.length) {
        if (positions[index] !== position) return undefined;
        const i = index++;
        return { leaf: slice(current.leafHashes, i) as Hash, chain: slice(current.chainHashes, i) };
      }
      if (ahead.length === 0) request();
      while (!atEnd && ahead.length < options.depth) request();
      current = await (ahead.shift() as Promise<HashedRange>);
      index = 0;
      if (current.positions.length === 0) return undefined;
    }
  };

  return {
    at,
    close: async () => {
      closed = true;
      await Promise.allSettled(ahead.splice(0));
    },
  };
};
