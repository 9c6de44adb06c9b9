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

  return { exchange, close };
};
