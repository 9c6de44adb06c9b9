import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import type {
  AppendResult,
  ExpectedRevision,
  NewEvent,
  WrongExpectedRevision,
} from '../../../application/ports/eventStore.js';
import { makeGroupCommit, type FlushOutcome } from '../shared/groupCommit.js';
import { WRITER_SQL } from './sqliteSchema.js';
import {
  sqliteWriterMain,
  type FromWriter,
  type ToWriter,
  type WireAppend,
  type WireOutcome,
  type WriterConfig,
} from './sqliteWriterThread.js';
import { makeRespawningChannel } from './threadChannel.js';

/**
 * The write side of the SQLite store: a group-commit queue in front of one
 * writer thread that owns the only write connection of this process.
 *
 * Why a thread: better-sqlite3 is synchronous, so on the main thread every
 * commit's fsync, every insert, and every wait for another process's write
 * lock (busy_timeout) would stall the event loop that streams chunks to
 * clients. On the writer thread they overlap with the main thread's work,
 * which on a two-core machine nearly doubles what the ledger can do.
 *
 * The thread is started from source text (`new Worker(code, { eval: true })`)
 * rather than from a file, so the same code runs under jest, under the swc
 * loader and from dist/ without a build step for the thread.
 */

export type WriterStats = {
  /** Committed write transactions (one per batch, more if a failing append forced a retry). */
  readonly transactions: number;
  /** Batches handed to the writer thread. */
  readonly batches: number;
  /** Appends acknowledged (success or conflict). */
  readonly appends: number;
  readonly events: number;
  readonly conflicts: number;
  /** Time the writer thread spent running batches (SQL, fsync, lock waits): near the wall time means the writer is the bottleneck. */
  readonly writerBusyMs: number;
};

export type SqliteWriter = {
  readonly append: (
    streamName: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ) => Promise<E.Either<WrongExpectedRevision, AppendResult>>;
  readonly stats: () => WriterStats;
  /** Waits for queued appends, then stops the thread. */
  readonly close: () => Promise<void>;
};

export type AppendOutcome = E.Either<WrongExpectedRevision, AppendResult>;

/** An operating failure of the store (not a business outcome): the caller's promise rejects with it. */
const writeError = (message: string, code: string | undefined): Error =>
  Object.assign(new Error(`sqlite event store: ${message}`), code === undefined ? {} : { code });

const workerSource = () => `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
(${sqliteWriterMain.toString()})(Database, workerData.config, parentPort);
`;

const toOutcome = (append: WireAppend, outcome: WireOutcome): FlushOutcome<AppendOutcome> => {
  switch (outcome.kind) {
    case 'appended':
      return { ok: true, value: E.right({ nextExpectedRevision: outcome.nextExpectedRevision, position: outcome.position }) };
    case 'conflict':
      return {
        ok: true,
        value: E.left({ _tag: 'WrongExpectedRevision', streamName: append.streamName, expected: append.expected, actual: outcome.actual }),
      };
    case 'failed':
      return { ok: false, error: writeError(outcome.message, outcome.code) };
  }
};

const spawnWriter = (path: string, pragmas: readonly string[]): Promise<Worker> => {
  const config: WriterConfig = { path, pragmas, sql: WRITER_SQL };
  const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
  // No execArgv: the thread needs no loader hooks or flags of the parent.
  const worker = new Worker(workerSource(), { eval: true, workerData: { betterSqlite3, config }, execArgv: [] });
  return new Promise<Worker>((resolve, reject) => {
    const onError = (error: unknown) => reject(error);
    const onExit = (code: number) => reject(new Error(`sqlite writer thread exited (code ${code}) while opening ${path}`));
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.once('message', (message: FromWriter) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (message.kind === 'ready') resolve(worker);
      else reject(new Error(`sqlite writer thread: unexpected first message ${message.kind}`));
    });
  });
};

export const startSqliteWriter = async (path: string, pragmas: readonly string[]): Promise<SqliteWriter> => {
  // A writer thread that dies is replaced on the next batch (the batches it held fail, as in an outage).
  const channel = makeRespawningChannel<ToWriter, FromWriter>(() => spawnWriter(path, pragmas), 'sqlite writer thread');
  await channel.ready();
  let closing = false;
  const counters = { transactions: 0, batches: 0, appends: 0, events: 0, conflicts: 0, writerBusyMs: 0 };

  const flush = async (appends: readonly WireAppend[]): Promise<readonly FlushOutcome<AppendOutcome>[]> => {
    const message = await channel.exchange({ kind: 'batch', appends });
    if (message.kind !== 'result') throw new Error(`sqlite writer thread: unexpected reply ${message.kind}`);
    counters.batches += 1;
    counters.transactions = message.transactions;
    counters.writerBusyMs = message.busyMs;
    return message.outcomes.map((outcome, i) => {
      const append = appends[i] as WireAppend;
      if (outcome.kind === 'appended') {
        counters.appends += 1;
        counters.events += append.events.length;
      } else if (outcome.kind === 'conflict') {
        counters.appends += 1;
        counters.conflicts += 1;
      }
      return toOutcome(append, outcome);
    });
  };

  // Two batches in flight, split from 2 x 16 waiting appends (so each half still
  // shares its fsync among 16 or more): see groupCommit.ts.
  const group = makeGroupCommit(flush, {
    maxRequests: 1000,
    maxWeight: 10_000,
    weight: (append) => append.events.length + 1,
    maxInFlight: 2,
    splitAbove: 16,
  });

  const append = (streamName: string, events: readonly NewEvent[], expected: ExpectedRevision) => {
    if (closing) return Promise.reject(new Error('sqlite event store is closed'));
    // Serialising here copies the events (later mutation by the caller cannot
    // rewrite history) and turns a non-JSON value into this caller's error alone.
    const wire = events.map((event): readonly [string, string, string] => [event.type, JSON.stringify(event.data), JSON.stringify(event.metadata)]);
    return group.submit({ streamName, expected, events: wire });
  };

  const close = async () => {
    if (closing) return;
    closing = true;
    await group.drain();
    await channel.close();
  };

  return { append, stats: () => ({ ...counters }), close };
};
