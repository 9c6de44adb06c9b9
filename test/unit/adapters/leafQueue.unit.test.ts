import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { HashedRange } from '../../../application/ports/hashedReads.js';
import { makeLeafQueue, type LeafQueueAnswer } from '../../../adapters/eventstore/sqlite/leafQueue.js';

/**
 * The queue of leaves hashed at commit (adapters/eventstore/sqlite/leafQueue.ts):
 * a subscriber that takes queued leaves where they continue its order and
 * "reads" the rest gets every position once, in order, with the right leaf.
 */
const leafOf = (position: number) => Uint8Array.from({ length: 32 }, (_, i) => (position * 7 + i) & 0xff);

const rangeOf = (first: number, count: number): HashedRange => {
  const positions = Float64Array.from({ length: count }, (_, i) => first + i);
  const leafHashes = new Uint8Array(count * 32);
  positions.forEach((p, i) => leafHashes.set(leafOf(p), i * 32));
  return { positions, leafHashes };
};

const positionsOf = (answer: LeafQueueAnswer) => (answer.kind === 'leaves' ? [...answer.range.positions] : answer);

describe('leaf queue', () => {
  it('answers leaves that continue, the end of a gap, or nothing', () => {
    const queue = makeLeafQueue(100);
    expect(queue.next(-1, 10)).toEqual({ kind: 'empty' });
    queue.push(rangeOf(0, 3));
    queue.push(rangeOf(5, 2));
    expect(positionsOf(queue.next(-1, 2))).toEqual([0, 1]);
    expect(positionsOf(queue.next(1, 10))).toEqual([2]);
    expect(queue.next(2, 10)).toEqual({ kind: 'gap', before: 5 });
    // A read delivered 3..5: 5 is dropped from the queue, 6 continues.
    expect(positionsOf(queue.next(5, 10))).toEqual([6]);
    expect(queue.size()).toBe(0);
  });

  it('takes what is queued past a gap only when asked to, and never holds more than its limit', () => {
    const queue = makeLeafQueue(4);
    expect(queue.push(rangeOf(10, 3))).toBe(true);
    expect(queue.push(rangeOf(13, 2))).toBe(false);
    expect(queue.push(rangeOf(9, 1))).toBe(false);
    expect(queue.next(7, 10)).toEqual({ kind: 'gap', before: 10 });
    expect(positionsOf(queue.next(7, 10, true))).toEqual([10, 11, 12]);
    queue.push(rangeOf(20, 1));
    queue.clear();
    expect(queue.next(12, 10)).toEqual({ kind: 'empty' });
  });

  it('merged with reads, delivers every position once, in order, with its own leaf', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 3, max: 40 }),
        (commits, pageSize, limit) => {
          // Each commit is ours (queued) or another process's (only readable); positions follow commit order.
          const queue = makeLeafQueue(limit);
          let end = 0;
          for (const [ours, count] of commits) {
            if (ours) queue.push(rangeOf(end, count));
            end += count;
          }
          const delivered: number[] = [];
          let after = -1;
          while (after < end - 1) {
            const answer = queue.next(after, pageSize);
            const range = answer.kind === 'leaves' ? answer.range : rangeOf(after + 1, Math.min(pageSize, answer.kind === 'gap' ? answer.before - after - 1 : end - after - 1));
            range.positions.forEach((p, i) => {
              expect(range.leafHashes.subarray(i * 32, i * 32 + 32)).toEqual(leafOf(p));
              delivered.push(p);
            });
            after = delivered[delivered.length - 1] as number;
          }
          expect(delivered).toEqual(Array.from({ length: end }, (_, i) => i));
        },
      ),
    );
  });
});
