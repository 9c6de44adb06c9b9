import type { Clock, Logger } from '../ports/clock.js';
import type { EventStore, Subscription } from '../ports/eventStore.js';
import type { Supervisor } from '../supervisor.js';
import { makeSupervisor } from '../supervisor.js';
import { decodeVideoJobEvent, videoJobStreamPrefix } from './job.js';

/**
 * Which jobs each user has, newest first, for GET /api/sora2/jobs: kept from a
 * supervised catch-up subscription (rebuilt from the store on start).
 * Memory: one id per job, at most `maxPerUser` per user (the oldest dropped).
 */
export type JobIndexDeps = {
  readonly store: Pick<EventStore, 'subscribeToAll'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly supervisor?: Supervisor;
  readonly maxPerUser?: number;
};

export const makeJobIndex = (deps: JobIndexDeps) => {
  const supervisor = deps.supervisor ?? makeSupervisor({ clock: deps.clock, ids: { random: () => 0.5 }, logger: deps.logger });
  const maxPerUser = deps.maxPerUser ?? 1000;
  const byUser = new Map<string, string[]>(); // oldest first
  let subscription: Subscription | undefined;

  const add = (userId: string, jobId: string) => {
    const ids = byUser.get(userId) ?? [];
    if (ids.includes(jobId)) return;
    ids.push(jobId);
    if (ids.length > maxPerUser) ids.shift();
    byUser.set(userId, ids);
  };

  return {
    start: async () => {
      subscription = supervisor.subscribe('video.jobIndex', deps.store, (recorded) => {
        if (!recorded.streamName.startsWith(videoJobStreamPrefix)) return;
        const event = decodeVideoJobEvent(recorded);
        if (event?.type === 'VideoJobRequested' || event?.type === 'VideoJobCreated') add(event.data.userId, event.data.jobId);
      });
      await subscription.caughtUp;
    },
    /** A page of the user's job ids, newest first. */
    jobsOf: (userId: string, page: { readonly limit: number; readonly offset?: number }): { ids: readonly string[]; total: number } => {
      const ids = byUser.get(userId) ?? [];
      const newestFirst = [...ids].reverse();
      const offset = Math.max(page.offset ?? 0, 0);
      return { ids: newestFirst.slice(offset, offset + page.limit), total: ids.length };
    },
    stop: async () => {
      await subscription?.stop();
      subscription = undefined;
    },
  };
};

export type JobIndex = ReturnType<typeof makeJobIndex>;
