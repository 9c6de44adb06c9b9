import type { Worker } from 'node:worker_threads';

/**
 * Request/response over a worker thread's message port (the SQLite writer
 * and hashing threads). The thread answers in the order it received
 * messages, so replies are matched first in, first out. It is referenced
 * only while it holds work: an idle store must not keep the process alive, a
 * pending answer must. A thread that fails or exits fails every waiting
 * request and every later one.
 */
export const makeThreadChannel = <To extends { readonly kind: string }, From>(worker: Worker, name: string) => {
  const replies: { resolve: (message: From) => void; reject: (error: unknown) => void }[] = [];
  let broken: Error | undefined;
  let closing = false;

  const fail = (error: Error) => {
    broken ??= error;
    for (const reply of replies.splice(0)) reply.reject(error);
  };
  worker.unref();
  worker.on('message', (message: From) => replies.shift()?.resolve(message));
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => {
    if (!closing) fail(new Error(`${name} exited unexpectedly (code ${code})`));
  });

  const exchange = (message: To | { readonly kind: 'close' }) =>
    new Promise<From>((resolve, reject) => {
      if (broken !== undefined) return reject(broken);
      replies.push({ resolve, reject });
      worker.ref();
      worker.postMessage(message);
    }).finally(() => {
      if (replies.length === 0) worker.unref();
    });

  const close = async () => {
    closing = true;
    if (broken === undefined) await exchange({ kind: 'close' }).catch(() => undefined);
    await worker.terminate();
  };

  return { exchange, close, broken: () => broken !== undefined };
};

export type ThreadChannel<To extends { readonly kind: string }, From> = ReturnType<typeof makeThreadChannel<To, From>>;

/**
 * A thread channel that replaces a thread that failed or exited. The
 * requests waiting on the old thread fail, as in any outage (their callers
 * cannot tell whether a write they sent was committed, and the store's
 * expected revisions keep a retry from writing twice); the next request
 * starts a fresh thread. A thread that cannot be started fails the request
 * that needed it, and the next request tries again. `ready` starts the first
 * thread, so a store that cannot open its file still fails at start-up.
 */
export const makeRespawningChannel = <To extends { readonly kind: string }, From>(spawn: () => Promise<Worker>, name: string) => {
  let current: Promise<ThreadChannel<To, From>> | undefined;
  let closed = false;
  let restarts = 0;

  const live = async (): Promise<ThreadChannel<To, From>> => {
    const seen = current;
    if (seen !== undefined) {
      const channel = await seen;
      if (!channel.broken()) return channel;
      // Requests that found the same dead thread at once replace it once: the first one does, the others use its successor.
      if (current !== seen) return live();
      restarts += 1;
      current = undefined;
      void channel.close().catch(() => undefined);
    }
    if (closed) throw new Error(`${name}: closed`);
    const starting = spawn().then((worker) => makeThreadChannel<To, From>(worker, name));
    current = starting;
    // A thread that did not start is not kept: the next request spawns again.
    starting.catch(() => {
      if (current === starting) current = undefined;
    });
    return starting;
  };

  return {
    ready: async (): Promise<void> => {
      await live();
    },
    exchange: async (message: To): Promise<From> => {
      if (closed) throw new Error(`${name}: closed`);
      return (await live()).exchange(message);
    },
    close: async (): Promise<void> => {
      closed = true;
      const channel = await current?.catch(() => undefined);
      current = undefined;
      await channel?.close();
    },
    /** Threads replaced after they failed or exited. */
    restarts: () => restarts,
  };
};
