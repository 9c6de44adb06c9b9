/**
 * Sizes of a simulated run. `ci` is what `npm test` runs per store; `small`
 * is the per-seed scenario for the 100-seed bar; `large` is for the script.
 */
export type Scenario = {
  readonly writers: number;
  readonly accounts: number;
  /** How long random operations are started. */
  readonly durationMs: number;
  /** Most operations in flight at once. */
  readonly maxInFlight: number;
  /** Pause between two operation starts, drawn uniformly. */
  readonly gapMs: readonly [number, number];
  readonly kills: number;
  readonly outages: number;
  readonly outageMs: readonly [number, number];
  readonly holdTtlMs: number;
  readonly sweepMs: number;
  /**
   * HOLD_EXPIRY_GRACE_MS: a due hold waits this long for its owner's settle before a sweep expires it. It
   * must outlast the settlement retries after an outage: 200 ms doubling to a 5 s cap, so the first retry
   * after a 6-8 s outage comes at most about 5 s after its end, plus the failed attempts' own time. (With a
   * 30 s cap a retry came 9.6 s after the outage, 17.5 s after the first failure, and lost the hold to a
   * sweep: PostgreSQL seed 1070.)
   */
  readonly holdGraceMs: number;
  readonly progressMs: number;
  readonly chunkDelayMs: number;
  readonly streamMaxMs: number;
  readonly slackMs: number;
  /** How late a progress record may be written on a loaded machine, beyond HOLD_PROGRESS_MS. */
  readonly progressSlackMs: number;
};

const base: Scenario = {
  writers: 3,
  accounts: 4,
  durationMs: 20_000,
  maxInFlight: 8,
  gapMs: [60, 260],
  kills: 1,
  outages: 1,
  outageMs: [6_000, 8_000],
  holdTtlMs: 3_000,
  sweepMs: 1_000,
  holdGraceMs: 15_000,
  progressMs: 1_000,
  chunkDelayMs: 120,
  streamMaxMs: 60_000,
  slackMs: 2_000,
  progressSlackMs: 500,
};

export const SCENARIOS = {
  ci: base,
  small: { ...base, durationMs: 12_000, outageMs: [5_500, 6_500] },
  large: { ...base, accounts: 6, durationMs: 90_000, maxInFlight: 12, kills: 4, outages: 3 },
} as const satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;
