import { describe } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';

/**
 * Finding the shared Redis for integration tests. Without one, the suites
 * skip with a message; under CI=true they fail instead, so a missing service
 * cannot turn the build green. (test/support/services.ts, when the lead adds
 * it, is the project-wide version of this.)
 */
export const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const reachable = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });

/** `describe` when Redis answers; `describe.skip` (or a failure under CI) when not. */
export const describeWithRedis = async (): Promise<typeof describe> => {
  if (await reachable(redisUrl)) return describe;
  const message = `Redis not reachable at ${redisUrl}`;
  if (process.env['CI'] === 'true') throw new Error(`${message} (CI=true: not skipping)`);
  console.warn(`${message}: skipping Redis integration tests`);
  return describe.skip as typeof describe;
};

/** A key prefix of its own for one test run, so runs never see each other's keys. */
export const uniquePrefix = (label: string) => `test:${label}:${process.pid}:${randomBytes(6).toString('hex')}:`;
