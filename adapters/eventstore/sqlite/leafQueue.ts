import type { HashedRange } from '../../../application/ports/hashedReads.js';

/**
 * The leaf hashes this process's writer thread computed at commit, waiting
 * for one leaf subscriber (sqliteHasher.ts). Ranges arrive in commit order,
 * so positions only grow; the events of one commit have consecutive
 * positions, but other processes' commits may sit between two ranges.
 *
 * `next(after)` answers what the subscriber can take without reading: the
 * leaves that continue exactly after `after`; or, when the queue starts
 * later, where the gap ends, so the subscriber reads only the missing
 * positions; or that it holds nothing. Whatever the subscriber got by
 * reading is dropped from the queue by the next call, so a leaf is never
 * delivered twice. The queue holds at most `maxLeaves`: a range that does
 * not fit is not kept (the subscriber reads those events instead), so a slow
 * or stuck subscriber cannot make it grow without bound.
 */
export type LeafQueueAnswer =
  | { readonly kind: 'leaves'; readonly range: HashedRange }
  | { readonly kind: 'gap'; readonly before: number }
  | { readonly kind: 'empty' };

export type LeafQueue = {
  /** Queues a committed range; false when it did not fit. */
  readonly push: (range: HashedRange) => boolean;
  /** Up to `maxCount` leaves from position `after + 1` on, consecutive; with `acceptGap`, from the first queued position after `after` whatever it is. */
  readonly next: (after: number, maxCount: number, acceptGap?: boolean) => LeafQueueAnswer;
  readonly size: () => number;
  readonly clear: () => void;
};

const BYTES = 32;

const slice = (range: HashedRange, from: number, to: number): HashedRange => ({
  positions: range.positions.subarray(from, to),
  leafHashes: range.leafHashes.subarray(from * BYTES, to * BYTES),
});

const at = (range: HashedRange, i: number): number => range.positions[i] as number;

export const makeLeafQueue = (maxLeaves: number): LeafQueue => {
  const ranges: HashedRange[] = [];
  let held = 0;

  const lastQueued = () => {
    const tail = ranges[ranges.length - 1];
    return tail === undefined ? Number.NEGATIVE_INFINITY : at(tail, tail.positions.length - 1);
  };

  const push = (range: HashedRange): boolean => {
    const n = range.positions.length;
    if (n === 0 || held + n > maxLeaves || at(range, 0) <= lastQueued()) return false;
    ranges.push(range);
    held += n;
    return true;
  };

  const dropThrough = (after: number) => {
    for (let head = ranges[0]; head !== undefined; head = ranges[0]) {
      const n = head.positions.length;
      if (at(head, 0) > after) return;
      if (at(head, n - 1) <= after) {
        ranges.shift();
        held -= n;
        continue;
      }
      let i = 0;
      while (at(head, i) <= after) i++;
      ranges[0] = slice(head, i, n);
      held -= i;
      return;
    }
  };

  const next = (after: number, maxCount: number, acceptGap = false): LeafQueueAnswer => {
    dropThrough(after);
    const head = ranges[0];
    if (head === undefined) return { kind: 'empty' };
    const first = at(head, 0);
    if (first !== after + 1 && !acceptGap) return { kind: 'gap', before: first };
    const n = head.positions.length;
    let count = 1;
    while (count < n && count < maxCount && at(head, count) === first + count) count++;
    if (count === n) {
      ranges.shift();
    } else {
      ranges[0] = slice(head, count, n);
    }
    held -= count;
    return { kind: 'leaves', range: slice(head, 0, count) };
  };

  return {
    push,
    next,
    size: () => held,
    clear: () => {
      ranges.length = 0;
      held = 0;
    },
  };
};
