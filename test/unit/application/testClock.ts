import type { Clock, Ids } from '../../../application/ports/clock.js';

/** A clock tests move by hand, and ids that count. */
export const makeTestClock = (start = 1_700_000_000_000) => {
  let now = start;
  const clock: Clock & { advance: (ms: number) => void; set: (ms: number) => void } = {
    now: () => now,
    sleep: async () => {
      await Promise.resolve();
    },
    advance: (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = ms;
    },
  };
  return clock;
};

export const makeTestIds = (): Ids => {
  let n = 0;
  let seed = 42;
  return {
    newId: () => `id-${++n}`,
    // A small LCG: deterministic jitter.
    random: () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    },
  };
};
