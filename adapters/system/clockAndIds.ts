import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, Ids } from '../../application/ports/clock.js';

/** The real clock and id source; the only place the application's time and randomness come from. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms) => {
    if (ms > 0) await sleep(ms);
  },
};

export const systemIds: Ids = {
  newId: () => randomUUID(),
  random: () => Math.random(),
};
