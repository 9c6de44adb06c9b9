import * as E from 'fp-ts/lib/Either.js';
import type pg from 'pg';
import type {
  AppendResult,
  ExpectedRevision,
  NewEvent,
  WrongExpectedRevision,
} from '../../../application/ports/eventStore.js';
import { makeGroupCommit, type FlushOutcome } from '../shared/groupCommit.js';
import type { PostgresSql } from './postgresSchema.js';

/**
 * The write side of the PostgreSQL store: group commit in front of one
 * transaction per batch (see postgresSchema.ts for why the advisory lock):
 *
 *   1. BEGIN; take the schema's advisory lock          (one round trip)
 *   2. read max(position) and the batch's streams      (one round trip)
 *   3. check each append's expected revision in order, in memory; assign
 *      revisions and positions to the ones that pass
 *   4. insert all their events                         (one round trip)
 *   5. NOTIFY listeners; COMMIT                          (one round trip)
 *
 * Callers are answered after COMMIT returned. A conflicting append fails
 * alone; the others in the batch commit.
 */

export type PostgresAppendHooks = {
  /** Tests only: runs after the state was read, just before the insert (to let a foreign writer in). */
  readonly beforeWrite?: () => Promise<void>;
  /** Tests only: runs inside the transaction just before COMMIT (to hold a commit back). */
  readonly beforeCommit?: () => Promise<void>;
};

export type PostgresWriterStats = {
  readonly transactions: number;
  readonly batches: number;
  readonly appends: number;
  readonly events: number;
  readonly conflicts: number;
  /** Batches run again after a unique violation caused by a writer outside this protocol. */
  readonly retries: number;
};

/** An event with data and metadata already turned into JSON text. */
type SerialisedEvent = { readonly type: string; readonly data: string; readonly metadata: string };
type Append = { readonly streamName: string; readonly expected: ExpectedRevision; readonly events: readonly SerialisedEvent[] };
type AppendOutcome = E.Either<WrongExpectedRevision, AppendResult>;
type Planned = { readonly outcomes: AppendOutcome[]; readonly rows: string[] };

const UNIQUE_VIOLATION = '23505';
const MAX_ATTEMPTS = 3;

/** Decides every append of the batch against the state read under the lock, in arrival order. */
const plan = (appends: readonly Append[], lastPosition: number, current: Map<string, number>): Planned => {
  const written = new Map<string, number>();
  const rows: string[] = [];
  let position = lastPosition;
  const outcomes = appends.map((append): AppendOutcome => {
    const last = written.get(append.streamName) ?? current.get(append.streamName);
    const actual: ExpectedRevision = last === undefined ? 'no_stream' : last;
    if (actual !== append.expected) {
      return E.left({ _tag: 'WrongExpectedRevision', streamName: append.streamName, expected: append.expected, actual });
    }
    if (append.events.length === 0) return E.right({ nextExpectedRevision: last ?? -1, position });
    let revision = last ?? -1;
    const name = JSON.stringify(append.streamName);
    for (const event of append.events) {
      revision += 1;
      position += 1;
      rows.push(`{"p":${position},"s":${name},"r":${revision},"t":${JSON.stringify(event.type)},"d":${event.data},"m":${event.metadata}}`);
    }
    written.set(append.streamName, revision);
    return E.right({ nextExpectedRevision: revision, position });
  });
  return { outcomes, rows };
};

export const makePostgresAppender = (pool: pg.Pool, sql: PostgresSql, hooks: PostgresAppendHooks = {}) => {
  const counters = { transactions: 0, batches: 0, appends: 0, events: 0, conflicts: 0, retries: 0 };

  const transaction = async (client: pg.PoolClient, appends: readonly Append[]): Promise<Planned> => {
    await client.query(sql.beginAndLock);
    const names = [...new Set(appends.map((append) => append.streamName))];
    const state = await client.query<{ stream_name: string | null; last: string | null }>({ ...sql.readState, values: [names] });
    let lastPosition = -1;
    const current = new Map<string, number>();
    for (const row of state.rows) {
      if (row.stream_name === null) lastPosition = Number(row.last);
      else if (row.last !== null) current.set(row.stream_name, Number(row.last));
    }
    const planned = plan(appends, lastPosition, current);
    if (planned.rows.length > 0) {
      await hooks.beforeWrite?.();
      await client.query({ ...sql.write, values: [`[${planned.rows.join(',')}]`, lastPosition] });
    }
    await hooks.beforeCommit?.();
    await client.query(planned.rows.length > 0 ? sql.notifyAndCommit : 'COMMIT');
    return planned;
  };

  const runOnce = async (appends: readonly Append[]): Promise<Planned> => {
    const client = await pool.connect();
    try {
      const planned = await transaction(client, appends);
      client.release();
      return planned;
    } catch (error) {
      // The connection may be mid-transaction or broken: discard it rather than reuse it.
      client.release(error as Error);
      throw error;
    }
  };

  const flush = async (appends: readonly Append[]): Promise<readonly FlushOutcome<AppendOutcome>[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const planned = await runOnce(appends);
        counters.transactions += 1;
        counters.batches += 1;
        counters.appends += appends.length;
        counters.events += planned.rows.length;
        counters.conflicts += planned.outcomes.filter(E.isLeft).length;
        return planned.outcomes.map((value) => ({ ok: true, value }));
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION || attempt >= MAX_ATTEMPTS) throw error;
        counters.retries += 1;
      }
    }
  };

  const group = makeGroupCommit(flush, { maxRequests: 1000, maxWeight: 10_000, weight: (append) => append.events.length + 1 });

  const append = (streamName: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendOutcome> => {
    // Serialise now: it copies the events and makes a non-JSON value this caller's error alone.
    const serialised = events.map((event): SerialisedEvent => ({
      type: event.type,
      data: JSON.stringify(event.data),
      metadata: JSON.stringify(event.metadata),
    }));
    return group.submit({ streamName, expected, events: serialised });
  };

  return { append, drain: group.drain, stats: (): PostgresWriterStats => ({ ...counters }) };
};
