import { describe, expect, it } from '@jest/globals';
import type { ReadAllOptions } from '../../../application/ports/eventStore.js';
import { makeLiveFeed } from '../../../adapters/eventstore/shared/liveFeed.js';

/**
 * The catch-up loop behind every polling store's subscriptions: it reads
 * page after page until a short one, and reads once per wake-up after that.
 */
type Item = { readonly position: number; readonly covers?: number };

/** A log of `size()` events; `asRanges` delivers each page as one item covering all its events (like the hashing thread). */
const source = (size: () => number, asRanges: boolean) => {
  let reads = 0;
  async function* readAll(options: ReadAllOptions): AsyncIterable<Item> {
    reads += 1;
    const from = (options.after ?? -1) + 1;
    const to = Math.min(size(), from + (options.maxCount ?? 1000));
    if (to <= from) return;
    if (asRanges) yield { position: to - 1, covers: to - from };
    else for (let p = from; p < to; p++) yield { position: p };
  }
  return { readAll, reads: () => reads };
};

describe.each([
  ['events', false],
  ['ranges of events', true],
])('live feed delivering %s', (_name, asRanges) => {
  it('is caught up only when every page of the history was read (2,500 events, pages of 1,000)', async () => {
    const feed = makeLiveFeed();
    let size = 2500;
    const log = source(() => size, asRanges);
    let last = -1;
    const sub = feed.subscribe(log.readAll, (item: Item) => {
      last = item.position;
    }, {});
    await sub.caughtUp;
    expect(last).toBe(2499);
    expect(log.reads()).toBe(3);
    size = 2503;
    feed.notify();
    await new Promise((resolve) => setImmediate(resolve));
    expect(last).toBe(2502);
    // One read per wake-up: the short page of 3 ends it, no second read that finds nothing.
    expect(log.reads()).toBe(4);
    await sub.stop();
  });

  it('misses no append that lands while a page is being handled', async () => {
    const feed = makeLiveFeed();
    let size = 5;
    const log = source(() => size, asRanges);
    const seen: number[] = [];
    const sub = feed.subscribe(log.readAll, async (item: Item) => {
      seen.push(item.position);
      if (size === 5) {
        size = 7;
        feed.notify();
      }
      await Promise.resolve();
    }, {});
    await sub.caughtUp;
    for (let i = 0; i < 5 && seen[seen.length - 1] !== 6; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(seen[seen.length - 1]).toBe(6);
    await sub.stop();
  });
});
