/**
 * The simulation's only source of randomness: a seeded generator (mulberry32),
 * so one seed always produces the same schedule of operations and faults.
 * Timing between real processes is not replayable; the schedule is.
 */
export type Rng = {
  readonly next: () => number;
  /** An integer in [min, max]. */
  readonly int: (min: number, max: number) => number;
  readonly chance: (p: number) => boolean;
  readonly pick: <T>(items: readonly T[]) => T;
  /** Picks a key by weight. */
  readonly weighted: <K extends string>(weights: Readonly<Record<K, number>>) => K;
  /** An independent generator derived from this one (for a sub-schedule). */
  readonly fork: () => Rng;
};

export const makeRng = (seed: number): Rng => {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[int(0, items.length - 1)] as T;
  };
  const weighted = <K extends string>(weights: Readonly<Record<K, number>>): K => {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = next() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return (entries[entries.length - 1] as [K, number])[0];
  };
  return { next, int, chance: (p) => next() < p, pick, weighted, fork: () => makeRng(int(0, 2 ** 32 - 1)) };
};
