import type {
  ReadAllOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../../../application/ports/eventStore.js';

type Waiter = () => void;

/** Events read per page of a catch-up. */
const PAGE = 1000;

/**
 * Catch-up subscriptions for stores that can tell "something was appended"
 * (in this process, or by polling): each subscriber pages through `readAll`
 * from its own checkpoint, then sleeps until the next notification. Delivery
 * is therefore always in global order, never duplicated, never skipped,
 * whatever the interleaving of appends and handler calls.
 */
export const makeLiveFeed = (pollIntervalMs?: number) => {
  const waiters = new Set<Waiter>();
  const stops = new Set<() => Promise<void>>();

  const notify = () => {
    for (const wake of [...waiters]) wake();
  };

  // Generic in what is delivered: events, or anything that carries the position of the last event it covers
  // and how many events it covers (ranges of hashes), so a full page is recognised either way.
  const subscribe = <T extends { readonly position: number; readonly covers?: number } = RecordedEvent>(
    readAll: (options: ReadAllOptions) => AsyncIterable<T>,
    handler: (event: T) => Promise<void> | void,
    options: SubscribeOptions,
  ): Subscription => {
    let checkpoint = options.after;
    let stopped = false;
    let wakeCurrent: Waiter | undefined;
    let resolveCaughtUp!: () => void;
    const caughtUp = new Promise<void>((resolve) => (resolveCaughtUp = resolve));

    const sleep = () =>
      new Promise<void>((resolve) => {
        const timer = pollIntervalMs === undefined ? undefined : setTimeout(done, pollIntervalMs);
        function done() {
          if (timer !== undefined) clearTimeout(timer);
          waiters.delete(done);
          wakeCurrent = undefined;
          resolve();
        }
        wakeCurrent = done;
        waiters.add(done);
      });

    const loop = async () => {
      let first = true;
      while (!stopped) {
        let read = 0;
        // Register before reading so an append during the read is not missed: it resolves this sleep.
        const slept = sleep();
        for await (const event of readAll(checkpoint === undefined ? { maxCount: PAGE } : { after: checkpoint, maxCount: PAGE })) {
          if (stopped) break;
          await handler(event);
          checkpoint = event.position;
          read += event.covers ?? 1;
        }
        if (stopped) break;
        if (read >= PAGE) {
          wakeCurrent?.();
          continue; // a full page may mean more is waiting
        }
        // A short page reached the end as it stood when read. Anything appended since has already woken
        // `slept`; nothing appended means no second read that would find nothing (one query per wake-up, not two).
        if (first) {
          first = false;
          resolveCaughtUp();
        }
        await slept;
      }
      resolveCaughtUp();
    };

    const running = loop().catch((error: unknown) => {
      stopped = true;
      resolveCaughtUp();
      options.onError?.(error);
    });
    const stop = async () => {
      stopped = true;
      wakeCurrent?.();
      await running;
      stops.delete(stop);
    };
    stops.add(stop);
    return { caughtUp, stop };
  };

  const closeAll = async () => {
    await Promise.all([...stops].map((stop) => stop()));
  };

  return { notify, subscribe, closeAll };
};
