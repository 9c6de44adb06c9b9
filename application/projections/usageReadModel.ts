import type { UsageBatch, UsageKey, UsageRef, UsageRow } from './usage.js';

/**
 * The usage read model port: rows, references and the checkpoint, kept in the
 * same store family as the events. `commit` applies one batch and moves the
 * checkpoint in a single transaction, and only if the checkpoint is still
 * where the batch started, so a restarted or duplicated runner never counts
 * an event twice.
 */
export const usageDimensions = ['day', 'account', 'apiKey', 'service', 'provider', 'model'] as const;
export type UsageDimension = (typeof usageDimensions)[number];

export const dimensionColumn: { readonly [D in UsageDimension]: keyof UsageKey } = {
  day: 'day',
  account: 'accountId',
  apiKey: 'apiKeyId',
  service: 'service',
  provider: 'provider',
  model: 'model',
};

export type UsageQuery = {
  /** First UTC day included (YYYY-MM-DD). */
  readonly from?: string;
  /** Last UTC day included (YYYY-MM-DD). */
  readonly to?: string;
  /** Only this account (the /me view). */
  readonly accountId?: string;
  /** Dimensions to group by, in order; empty = one total row. */
  readonly groupBy: readonly UsageDimension[];
  readonly limit: number;
  readonly offset: number;
};

/** A grouped row: the grouped dimensions (others absent) and the summed counters. */
export type UsageGroup = Partial<UsageKey> & Omit<UsageRow, keyof UsageKey>;

export type UsagePage = { readonly rows: readonly UsageGroup[]; readonly total: number };

export class CheckpointMoved extends Error {
  constructor(readonly expected: number, readonly actual: number) {
    super(`usage checkpoint moved: expected ${expected}, found ${actual}`);
  }
}

export type UsageReadModel = {
  readonly kind: string;
  /** Position of the last event folded in; -1 before the first. */
  readonly checkpoint: () => Promise<number>;
  readonly refs: (ids: readonly string[]) => Promise<Map<string, UsageRef>>;
  /** Applies the batch and sets the checkpoint to its position, atomically, if the checkpoint is still `after`; else throws CheckpointMoved. */
  readonly commit: (batch: UsageBatch, after: number) => Promise<void>;
  readonly query: (query: UsageQuery) => Promise<UsagePage>;
  /** Holds the projection knows to be open: how many and how many credits. */
  readonly openHolds: () => Promise<{ readonly count: number; readonly credits: number }>;
  /** Empties rows, references and checkpoint (before a rebuild). */
  readonly reset: () => Promise<void>;
  readonly close: () => Promise<void>;
};

export const NO_POSITION = -1;
