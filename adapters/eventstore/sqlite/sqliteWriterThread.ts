import type BetterSqlite3 from 'better-sqlite3';
import type { HashKernel } from '../../../application/hashKernel.js';
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
 *
 * When a batch asks for `leaves`, the thread also answers the RFC 9162 leaf
 * hash of every event its COMMIT made durable (merkle/eventLeaf.ts), so the
 * ledger log follower gets this process's appends without reading them back.
 * It hashes after COMMIT, outside the write lock, and only the attempt that
 * committed: an append rolled back, or a batch whose COMMIT failed, yields no
 * leaf. The hashing is the application's own code (`kernel`, built from
 * application/hashKernel.ts in this thread, as in the hashing thread), fed
 * the very texts the row holds, parsed as the store's reader parses them.
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

export type ToWriter = { readonly kind: 'batch'; readonly appends: readonly WireAppend[]; readonly leaves: boolean } | { readonly kind: 'close' };

/** Leaf hashes of the events one COMMIT made durable: positions in order, 32 bytes per event (the `HashedRange` layout). */
export type CommittedLeaves = { readonly positions: Float64Array; readonly leafHashes: Uint8Array };

export type FromWriter =
  | { readonly kind: 'ready' }
  | {
      readonly kind: 'result';
      readonly outcomes: readonly WireOutcome[];
      readonly transactions: number;
      readonly busyMs: number;
      /** Only when the batch asked for them and something was committed; missing if hashing failed (the reader then hashes those events). */
      readonly leaves: CommittedLeaves | undefined;
    }
  | { readonly kind: 'closed' };

export type WriterConfig = {
  readonly path: string;
  readonly pragmas: readonly string[];
  readonly sql: WriterSql;
};

export type WriterPort = {
  readonly on: (event: 'message', listener: (message: ToWriter) => void) => unknown;
  readonly postMessage: (message: FromWriter, transfer?: ArrayBuffer[]) => void;
  readonly close: () => void;
};

/** An inserted row, as the store's reader would get it back: position, stream, revision, type, data, metadata, commit time. */
type InsertedRow = [position: number, streamName: string, revision: number, type: string, data: string, metadata: string, committedAt: number];

/* istanbul ignore next -- runs in the writer thread from its source text, where coverage counters do not exist. */
export function sqliteWriterMain(Database: typeof BetterSqlite3, kernel: HashKernel, config: WriterConfig, port: WriterPort): void {
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
  const BYTES = 32;

  function failure(error: unknown): WireOutcome {
    const e = error as { message?: unknown; code?: unknown } | undefined;
    return { kind: 'failed', message: String(e?.message ?? error), code: typeof e?.code === 'string' ? e.code : undefined };
  }

  function rollback() {
    if (db.inTransaction) db.exec('ROLLBACK');
  }

  // Leaf hashes of committed rows. The data text came from JSON.stringify on
  // the main thread, so when its parsed value is already in canonical shape
  // the text itself is its canonical encoding and need not be written again.
  // A failure costs the follower a read, never a wrong leaf: no leaves at all.
  function leavesOf(rows: readonly InsertedRow[]): CommittedLeaves | undefined {
    const n = rows.length;
    if (n === 0) return undefined;
    const positions = new Float64Array(n);
    const leafHashes = new Uint8Array(n * BYTES);
    try {
      for (let i = 0; i < n; i++) {
        const row = rows[i] as InsertedRow;
        const data: unknown = JSON.parse(row[4]);
        const event = { streamName: row[1], revision: row[2], type: row[3], data, metadata: JSON.parse(row[5]) as unknown, committedAt: row[6] };
        positions[i] = row[0];
        leafHashes.set(kernel.leafHash(kernel.leafText(event, kernel.isCanonicalShape(data) ? row[4] : undefined)), i * BYTES);
      }
    } catch {
      return undefined;
    }
    return { positions, leafHashes };
  }

  // Checks the expected revision inside the write transaction (so it holds
  // across processes), then writes; returns the outcome and the new last position.
  // Every row written is also pushed on `inserted` when the batch wants leaves.
  function apply(append: WireAppend, position: number, committedAt: number, inserted: InsertedRow[] | undefined): [WireOutcome, number] {
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
      inserted?.push([next, append.streamName, first + i, event[0], event[1], event[2], committedAt]);
    }
    return [{ kind: 'appended', nextExpectedRevision: last, position: next }, next];
  }

  // One transaction over the appends at `indexes`. If one of them throws, the
  // transaction is rolled back, that append gets its error, and its index is
  // returned so the caller can run the others again without it.
  function attempt(appends: readonly WireAppend[], indexes: readonly number[], outcomes: WireOutcome[], inserted: InsertedRow[] | undefined): number | undefined {
    begin.run();
    const last = lastPosition.get() as [number, number] | undefined;
    let position = last === undefined ? -1 : last[0];
    // The commit time is read under the write lock and never goes below the
    // last row's, whichever process wrote it: commit times follow positions.
    const committedAt = Math.max(Date.now(), last === undefined ? 0 : last[1]);
    for (const i of indexes) {
      try {
        const [outcome, next] = apply(appends[i] as WireAppend, position, committedAt, inserted);
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

  // The rows of the attempt under way: emptied before each attempt, read only once its COMMIT returned.
  function runBatch(appends: readonly WireAppend[], wantLeaves: boolean): { outcomes: WireOutcome[]; leaves: CommittedLeaves | undefined } {
    const outcomes: WireOutcome[] = [];
    const inserted: InsertedRow[] | undefined = wantLeaves ? [] : undefined;
    let indexes = appends.map((_, i) => i);
    while (indexes.length > 0) {
      let failed: number | undefined;
      if (inserted !== undefined) inserted.length = 0;
      try {
        failed = attempt(appends, indexes, outcomes, inserted);
      } catch (error) {
        // BEGIN or COMMIT failed (busy for longer than busy_timeout, disk full,
        // I/O error): nothing of this batch is durable, so every append fails.
        rollback();
        for (const i of indexes) outcomes[i] = failure(error);
        return { outcomes, leaves: undefined };
      }
      if (failed === undefined) return { outcomes, leaves: inserted === undefined ? undefined : leavesOf(inserted) };
      indexes = indexes.filter((i) => i !== failed);
    }
    return { outcomes, leaves: undefined };
  }

  port.on('message', (message) => {
    if (message.kind === 'batch') {
      const started = performance.now();
      const { outcomes, leaves } = runBatch(message.appends, message.leaves);
      busyMs += performance.now() - started;
      const transfer = leaves === undefined ? [] : [leaves.positions.buffer, leaves.leafHashes.buffer];
      port.postMessage({ kind: 'result', outcomes, transactions, busyMs, leaves }, transfer as ArrayBuffer[]);
    } else {
      db.close();
      port.postMessage({ kind: 'closed' });
      port.close();
    }
  });
  port.postMessage({ kind: 'ready' });
}
