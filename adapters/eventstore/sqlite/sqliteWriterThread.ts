import type BetterSqlite3 from 'better-sqlite3';
import type { ExpectedRevision } from '../../../application/ports/eventStore.js';
import type { WriterSql } from './sqliteSchema.js';

/**
 * The body of the SQLite writer thread and the messages it exchanges.
 *
 * `sqliteWriterMain` is started from its own source text (see sqliteWriter.ts),
 * so it must be self-contained: it may use only its parameters and globals,
 * never anything else imported or declared in this module. That is why it is
 * one function made of small inner functions, and why the SQL reaches it as
 * data. Everything it does is synchronous (better-sqlite3), which is the point:
 * the fsync and any wait for another process's write lock block this thread,
 * not the event loop that serves requests.
 */

/** One event on the wire: type, data JSON text, metadata JSON text. */
export type WireEvent = readonly [type: string, data: string, metadata: string];

export type WireAppend = {
  readonly streamName: string;
  readonly expected: ExpectedRevision;
  readonly events: readonly WireEvent[];
};

export type WireOutcome =
  | { readonly kind: 'appended'; readonly nextExpectedRevision: number; readonly position: number }
  | { readonly kind: 'conflict'; readonly actual: ExpectedRevision }
  | { readonly kind: 'failed'; readonly message: string; readonly code: string | undefined };

export type ToWriter = { readonly kind: 'batch'; readonly appends: readonly WireAppend[] } | { readonly kind: 'close' };

export type FromWriter =
  | { readonly kind: 'ready' }
  | { readonly kind: 'result'; readonly outcomes: readonly WireOutcome[]; readonly transactions: number; readonly busyMs: number }
  | { readonly kind: 'closed' };

export type WriterConfig = {
  readonly path: string;
  readonly pragmas: readonly string[];
  readonly sql: WriterSql;
};

export type WriterPort = {
  readonly on: (event: 'message', listener: (message: ToWriter) => void) => unknown;
  readonly postMessage: (message: FromWriter) => void;
  readonly close: () => void;
};

/* istanbul ignore next -- runs in the writer thread from its source text, where coverage counters do not exist. */
export function sqliteWriterMain(Database: typeof BetterSqlite3, config: WriterConfig, port: WriterPort): void {
  const db = new Database(config.path);
  // exec, not pragma(): pragma() prepares a throwaway Statement, and a collected Statement can abort Node 24 (see sqliteSchema.ts).
  for (const pragma of config.pragmas) db.exec(`PRAGMA ${pragma}`);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const lastPosition = db.prepare(config.sql.lastPosition).raw();
  const selectStream = db.prepare(config.sql.selectStream).raw();
  const insertStream = db.prepare(config.sql.insertStream);
  const insertEvent = db.prepare(config.sql.insertEvent);
  let transactions = 0;
  let busyMs = 0;

  function failure(error: unknown): WireOutcome {
    const e = error as { message?: unknown; code?: unknown } | undefined;
    return { kind: 'failed', message: String(e?.message ?? error), code: typeof e?.code === 'string' ? e.code : undefined };
  }

  function rollback() {
    if (db.inTransaction) db.exec('ROLLBACK');
  }

  // Checks the expected revision inside the write transaction (so it holds
  // across processes), then writes; returns the outcome and the new last position.
  function apply(append: WireAppend, position: number, committedAt: number): [WireOutcome, number] {
    // A stream row exists only once the stream has events, so a row's max(revision) is never null.
    const row = selectStream.get(append.streamName) as [number, number] | undefined;
    const actual: ExpectedRevision = row === undefined ? 'no_stream' : row[1];
    if (actual !== append.expected) return [{ kind: 'conflict', actual }, position];
    const count = append.events.length;
    if (count === 0) return [{ kind: 'appended', nextExpectedRevision: row === undefined ? -1 : row[1], position }, position];
    const first = row === undefined ? 0 : row[1] + 1;
    const last = first + count - 1;
    const streamId = row === undefined ? Number(insertStream.run(append.streamName).lastInsertRowid) : row[0];
    let next = position;
    for (let i = 0; i < count; i++) {
      const event = append.events[i] as WireEvent;
      next += 1;
      insertEvent.run(next, streamId, first + i, event[0], event[1], event[2], committedAt);
    }
    return [{ kind: 'appended', nextExpectedRevision: last, position: next }, next];
  }

  // One transaction over the appends at `indexes`. If one of them throws, the
  // transaction is rolled back, that append gets its error, and its index is
  // returned so the caller can run the others again without it.
  function attempt(appends: readonly WireAppend[], indexes: readonly number[], outcomes: WireOutcome[]): number | undefined {
    begin.run();
    const last = lastPosition.get() as [number, number] | undefined;
    let position = last === undefined ? -1 : last[0];
    // The commit time is read under the write lock and never goes below the
    // last row's, whichever process wrote it: commit times follow positions.
    const committedAt = Math.max(Date.now(), last === undefined ? 0 : last[1]);
    for (const i of indexes) {
      try {
        const [outcome, next] = apply(appends[i] as WireAppend, position, committedAt);
        outcomes[i] = outcome;
        position = next;
      } catch (error) {
        rollback();
        outcomes[i] = failure(error);
        return i;
      }
    }
    commit.run();
    transactions += 1;
    return undefined;
  }

  function runBatch(appends: readonly WireAppend[]): WireOutcome[] {
    const outcomes: WireOutcome[] = [];
    let indexes = appends.map((_, i) => i);
    while (indexes.length > 0) {
      let failed: number | undefined;
      try {
        failed = attempt(appends, indexes, outcomes);
      } catch (error) {
        // BEGIN or COMMIT failed (busy for longer than busy_timeout, disk full,
        // I/O error): nothing of this batch is durable, so every append fails.
        rollback();
        for (const i of indexes) outcomes[i] = failure(error);
        break;
      }
      if (failed === undefined) break;
      indexes = indexes.filter((i) => i !== failed);
    }
    return outcomes;
  }

  port.on('message', (message) => {
    if (message.kind === 'batch') {
      const started = performance.now();
      const outcomes = runBatch(message.appends);
      busyMs += performance.now() - started;
      port.postMessage({ kind: 'result', outcomes, transactions, busyMs });
    } else {
      db.close();
      port.postMessage({ kind: 'closed' });
      port.close();
    }
  });
  port.postMessage({ kind: 'ready' });
}
