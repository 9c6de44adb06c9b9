import { randomBytes } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { EventStore, ExpectedRevision, NewEvent } from '../../application/ports/eventStore.js';

/**
 * The append workload shared by every store in the benchmark: `callers`
 * concurrent loops, each appending 1 or 2 ledger-sized events per call with
 * the right expected revision, for `durationMs`.
 *
 * - many: each call picks one of 10,000 streams at random.
 * - hot:  every call goes to one stream. Callers claim the next revisions
 *   before awaiting (as the ledger does when it decides from its cached
 *   state), so appends to the hot stream are pipelined; the store applies them
 *   in arrival order, so they do not conflict.
 */
export type Scenario = 'many' | 'hot';

export type LoadResult = {
  readonly appends: number;
  readonly events: number;
  readonly conflicts: number;
  readonly elapsedMs: number;
};

export const MANY_STREAMS = 10_000;
// Precomputed: generating random hashes per event would cost more than some stores' appends.
const HASHES = Array.from({ length: 1024 }, () => randomBytes(32).toString('hex'));
const hash = (n: number) => HASHES[n % HASHES.length] as string;

/**
 * Events shaped like the ledger's: ids, an amount, usage, a hash chain link.
 * Keys in sorted order, as the ledger writes them (the hashing code takes a
 * faster path for such events; see application/hashKernel.ts).
 */
export const ledgerEvents = (count: number, seq: number): NewEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    type: i === 0 ? 'CreditsReserved' : 'CreditsSettled',
    data: {
      accountId: 'acc-7f3a2c9e-1b4d-4e8f-9a6b-2c1d0e9f8a7b',
      amount: 1250 + i,
      reservationId: `res-${seq}-${i}`,
      usage: { completionTokens: 256, model: 'gpt-4o-mini', promptTokens: 812, provider: 'openai' },
    },
    metadata: { correlationId: `req-${seq}`, hash: hash(seq + i + 1), prevHash: hash(seq + i), recordedAt: 1_760_000_000_000 + seq },
  }));

export const runLoad = async (store: EventStore, scenario: Scenario, callers: number, durationMs: number): Promise<LoadResult> => {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const next = new Map<string, number>();
  const totals = { appends: 0, events: 0, conflicts: 0, seq: 0 };
  const started = performance.now();
  // A deadline, not a timer: the memory store never yields to the timer queue.
  const deadline = started + durationMs;

  const caller = async () => {
    while (performance.now() < deadline) {
      const stream = scenario === 'hot' ? `${prefix}-hot` : `${prefix}-${Math.floor(Math.random() * MANY_STREAMS)}`;
      const first = next.get(stream) ?? 0;
      const count = 1 + (totals.seq % 2);
      next.set(stream, first + count);
      const expected: ExpectedRevision = first === 0 ? 'no_stream' : first - 1;
      const result = await store.appendToStream(stream, ledgerEvents(count, totals.seq++), expected)();
      if (E.isRight(result)) {
        totals.appends += 1;
        totals.events += count;
      } else {
        totals.conflicts += 1;
        const actual = result.left.actual;
        next.set(stream, actual === undefined || actual === 'no_stream' ? 0 : actual + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return { appends: totals.appends, events: totals.events, conflicts: totals.conflicts, elapsedMs: performance.now() - started };
};
