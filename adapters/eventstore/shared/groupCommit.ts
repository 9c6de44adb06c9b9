/**
 * Group commit: requests that arrive while a flush is running (or in the same
 * turn of the event loop) are handed to the next flush together, so one
 * transaction and one fsync serve many callers. A flush starts on
 * `setImmediate`, after the callers resolved by the previous flush have had
 * their microtasks run and queued their next request. Each caller's promise
 * settles only after the flush that carried its request has returned, so an
 * acknowledgement always follows the commit.
 *
 * Pipelining (`maxInFlight` > 1, only for a flush target that applies batches
 * strictly in the order they were handed over, like the SQLite writer
 * thread): a second batch may be handed over while the first is still being
 * written. When nothing is in flight and at least 2 x `splitAbove` requests
 * wait, only half of them go first, so that from then on the callers form two
 * cohorts: one is being written while the other is being prepared on this
 * thread. Without the split, callers that all wait for the same commit come
 * back together and the two threads take turns instead of working at once.
 *
 * Used by the SQLite and PostgreSQL stores (it has no I/O of its own).
 */

/** The outcome of one request in a flush: its own value or its own failure. */
export type FlushOutcome<Res> = { readonly ok: true; readonly value: Res } | { readonly ok: false; readonly error: unknown };

export type GroupCommitOptions<Req> = {
  /** Most requests in one flush. */
  readonly maxRequests: number;
  /** Most total weight (e.g. events) in one flush; a single heavier request still goes alone. */
  readonly maxWeight: number;
  readonly weight: (request: Req) => number;
  /** Batches handed over and not yet answered. Default 1. */
  readonly maxInFlight?: number;
  /** See above; only with maxInFlight > 1. Default: never split. */
  readonly splitAbove?: number;
};

type Pending<Req, Res> = {
  readonly request: Req;
  readonly resolve: (value: Res) => void;
  readonly reject: (error: unknown) => void;
};

export const makeGroupCommit = <Req, Res>(
  flush: (batch: readonly Req[]) => Promise<readonly FlushOutcome<Res>[]>,
  options: GroupCommitOptions<Req>,
) => {
  const queue: Pending<Req, Res>[] = [];
  const idleWaiters: (() => void)[] = [];
  const maxInFlight = options.maxInFlight ?? 1;
  const splitAbove = options.splitAbove ?? Number.POSITIVE_INFINITY;
  let inFlight = 0;
  let scheduled = false;

  const takeBatch = (): Pending<Req, Res>[] => {
    const split = maxInFlight > 1 && inFlight === 0 && queue.length >= 2 * splitAbove;
    const most = Math.min(options.maxRequests, split ? Math.ceil(queue.length / 2) : queue.length);
    let weight = 0;
    let count = 0;
    while (count < most) {
      const next = options.weight((queue[count] as Pending<Req, Res>).request);
      if (count > 0 && weight + next > options.maxWeight) break;
      weight += next;
      count++;
    }
    return queue.splice(0, count);
  };

  const settle = (batch: readonly Pending<Req, Res>[], outcomes: readonly FlushOutcome<Res>[]) => {
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) pending.reject(new Error('group commit: flush returned too few outcomes'));
      else if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  };

  const run = async () => {
    scheduled = false;
    const batch = takeBatch();
    inFlight += 1;
    schedule(); // a second batch may go while this one is written
    try {
      settle(batch, await flush(batch.map((pending) => pending.request)));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      inFlight -= 1;
      schedule();
    }
  };

  function schedule() {
    if (scheduled || inFlight >= maxInFlight) return;
    if (queue.length === 0) {
      if (inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
      return;
    }
    scheduled = true;
    setImmediate(() => void run());
  }

  const submit = (request: Req): Promise<Res> =>
    new Promise<Res>((resolve, reject) => {
      queue.push({ request, resolve, reject });
      schedule();
    });

  /** Resolves once every submitted request has been flushed. */
  const drain = (): Promise<void> =>
    inFlight > 0 || scheduled || queue.length > 0 ? new Promise<void>((resolve) => idleWaiters.push(resolve)) : Promise.resolve();

  return { submit, drain, pending: () => queue.length };
};
