import type BetterSqlite3 from 'better-sqlite3';
import type { HashKernel } from '../../../application/hashKernel.js';

/**
 * The body of the SQLite hashing thread and the messages it exchanges.
 *
 * Like the writer thread (sqliteWriterThread.ts), `sqliteHasherMain` is
 * started from its own source text, so it may use only its parameters and
 * globals. It opens its own read-only connection, reads a page of the global
 * order by position, and answers the leaf hash (and, when asked, the
 * recomputed chain hash) of every event in it, 32 bytes each, in buffers
 * that are transferred, not copied. The hashing is the application's own
 * code (`kernel`, built from application/hashKernel.ts in this thread).
 */
export type ToHasher = { readonly kind: 'hash'; readonly after: number; readonly maxCount: number; readonly withChain: boolean } | { readonly kind: 'close' };

export type FromHasher =
  /** `nice`: the thread's own nice value once started (Linux), undefined where it cannot be read. */
  | { readonly kind: 'ready'; readonly nice: number | undefined }
  | { readonly kind: 'hashed'; readonly positions: Float64Array; readonly leafHashes: Uint8Array; readonly chainHashes: Uint8Array | undefined }
  | { readonly kind: 'failed'; readonly message: string; readonly code: string | undefined }
  | { readonly kind: 'closed' };

export type HasherConfig = {
  readonly path: string;
  readonly pragmas: readonly string[];
  /** READ_ALL_PAGE_SQL: position > ?, LIMIT ?. */
  readonly pageSql: string;
  /**
   * Nice value for this thread alone (Linux only, where a thread's nice value
   * is its own); a value at or below the thread's current one leaves it as
   * started. Raising it needs no privilege.
   */
  readonly nice: number;
};

/** `node:os`'s priority functions, passed in (the thread's source may use only its parameters). */
export type ThreadPriority = {
  readonly platform: string;
  readonly setPriority: (priority: number) => void;
  readonly getPriority: () => number;
};

export type HasherPort = {
  readonly on: (event: 'message', listener: (message: ToHasher) => void) => unknown;
  readonly postMessage: (message: FromHasher, transfer?: ArrayBuffer[]) => void;
  readonly close: () => void;
};

type PageRow = [position: number, streamName: string, revision: number, type: string, data: string, metadata: string, committedAt: number];

/* istanbul ignore next -- runs in the hashing thread from its source text, where coverage counters do not exist. */
export function sqliteHasherMain(Database: typeof BetterSqlite3, kernel: HashKernel, config: HasherConfig, port: HasherPort, priority: ThreadPriority): void {
  // On Linux, setpriority(PRIO_PROCESS, 0) changes the calling thread only; elsewhere it would
  // change the whole process, so the thread is lowered on Linux alone.
  let nice: number | undefined;
  if (priority.platform === 'linux') {
    try {
      if (config.nice > priority.getPriority()) priority.setPriority(config.nice);
      nice = priority.getPriority();
    } catch {
      nice = undefined;
    }
  }
  const db = new Database(config.path, { readonly: true, fileMustExist: true });
  // exec, not pragma(): see sqliteSchema.ts on collected statements.
  for (const pragma of config.pragmas) db.exec(`PRAGMA ${pragma}`);
  const page = db.prepare(config.pageSql).raw();
  const BYTES = 32;

  function hash(after: number, maxCount: number, withChain: boolean): FromHasher {
    const rows = page.all(after, maxCount) as PageRow[];
    const n = rows.length;
    const positions = new Float64Array(n);
    const leafHashes = new Uint8Array(n * BYTES);
    const chainHashes = withChain ? new Uint8Array(n * BYTES) : undefined;
    for (let i = 0; i < n; i++) {
      const row = rows[i] as PageRow;
      positions[i] = row[0];
      // The same fields, parsed the same way, as the store's reader gives the main thread.
      const event = { streamName: row[1], revision: row[2], type: row[3], data: JSON.parse(row[4]) as unknown, metadata: JSON.parse(row[5]) as Record<string, unknown>, committedAt: row[6] };
      if (chainHashes === undefined) {
        leafHashes.set(kernel.leafHash(kernel.leafText(event)), i * BYTES);
      } else {
        const texts = kernel.eventTexts(event);
        leafHashes.set(kernel.leafHash(texts.leaf), i * BYTES);
        chainHashes.set(kernel.sha256Bytes(texts.chain), i * BYTES);
      }
    }
    return { kind: 'hashed', positions, leafHashes, chainHashes };
  }

  port.on('message', (message) => {
    if (message.kind === 'close') {
      db.close();
      port.postMessage({ kind: 'closed' });
      port.close();
      return;
    }
    let reply: FromHasher;
    try {
      reply = hash(message.after, message.maxCount, message.withChain);
    } catch (error) {
      const e = error as { message?: unknown; code?: unknown } | undefined;
      reply = { kind: 'failed', message: String(e?.message ?? error), code: typeof e?.code === 'string' ? e.code : undefined };
    }
    const transfer = reply.kind === 'hashed' ? [reply.positions.buffer, reply.leafHashes.buffer, ...(reply.chainHashes === undefined ? [] : [reply.chainHashes.buffer])] : [];
    port.postMessage(reply, transfer as ArrayBuffer[]);
  });
  port.postMessage({ kind: 'ready', nice });
}
