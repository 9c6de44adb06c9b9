import esdb from '@eventstore/db-client';
import type { EventStoreDBClient, Position, ReadPosition, ResolvedEvent, StreamingRead } from '@eventstore/db-client';
import { isSystemEvent, toPortPosition } from './esdbEvents.js';

type Releasable = { on(event: 'error', listener: (error: Error) => void): unknown; resume(): unknown };

/**
 * Ends a gRPC call we stopped reading before its end: cancel it and let what
 * is already in flight flow away. The client tracks every call until it
 * finishes, and its dispose() waits for all of them; a call left paused with
 * unread messages would never finish, and close() would hang.
 */
export const release = (stream: Releasable, cancel: () => Promise<void>): void => {
  stream.on('error', () => undefined);
  stream.resume();
  void cancel().catch(() => undefined);
};

/**
 * Iterates one gRPC read; a consumer that stops early (break, return, throw)
 * releases the call instead of leaving it half read.
 */
export async function* drain<T>(read: StreamingRead<T>): AsyncGenerator<T> {
  let finished = false;
  try {
    for await (const item of read.iterator({ destroyOnReturn: false })) yield item as T;
    finished = true;
  } finally {
    if (!finished) release(read, () => read.cancel());
  }
}

export type Head = { readonly _tag: 'Empty' } | { readonly _tag: 'At'; readonly position: number } | { readonly _tag: 'TooFar' };

const headPageSize = 500;
const headPagesMax = 20;

/**
 * The position of the newest ledger (non-system) event in `$all`, read
 * backwards from the end. A backwards read from a position excludes the event
 * at it, so each page continues where the last one stopped. If the newest
 * ledger event hides behind more than 10,000 system events the answer is
 * `TooFar`: the caller then relies on the server's caught-up signal alone.
 */
export const readHead = async (client: EventStoreDBClient): Promise<Head> => {
  let from: ReadPosition = esdb.END;
  for (let page = 0; page < headPagesMax; page++) {
    let got = 0;
    let last: Position | undefined;
    const read = client.readAll({ direction: esdb.BACKWARDS, fromPosition: from, maxCount: headPageSize });
    for await (const resolved of drain<ResolvedEvent>(read)) {
      got++;
      const raw = resolved.event;
      if (raw?.position === undefined) continue;
      if (!isSystemEvent(raw.streamId, raw.type)) return { _tag: 'At', position: toPortPosition(raw.position) };
      last = raw.position;
    }
    if (got < headPageSize || last === undefined) return { _tag: 'Empty' };
    from = last;
  }
  return { _tag: 'TooFar' };
};
