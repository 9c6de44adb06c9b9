import * as E from 'fp-ts/lib/Either.js';
import type { Logger } from '../ports/clock.js';
import type { EventStore, Subscription } from '../ports/eventStore.js';
import type { Loop, Supervisor } from '../supervisor.js';
import { makeSupervisor } from '../supervisor.js';
import { decodeVideoJobEvent, videoJobStreamPrefix } from './job.js';
import type { VideoJobs } from './videoJobs.js';

/**
 * Drives running video jobs to their end without anyone asking for their
 * status. A catch-up subscription rebuilds the set of running jobs from the
 * store on start, so after a restart every job that was running is polled
 * again; driving a job twice (here and from a status call, or from two
 * processes) charges it once, see settlement.ts.
 * It never stops (issue 10, case 7): the tick and the subscription run under
 * the supervisor; a job whose poll failed stays in the set and the tick is
 * retried after a backoff; an ended subscription restarts where it was.
 * Memory: one entry per running job.
 */
export type VideoPollerDeps = {
  readonly store: EventStore;
  readonly jobs: Pick<VideoJobs, 'advance'>;
  readonly logger: Logger;
  readonly intervalMs: number;
  /** At most this many jobs are polled per tick (the oldest first), so a backlog cannot flood the provider. */
  readonly maxPerTick?: number;
  /** Default: one of its own (tests); the service passes the shared one, whose state /health shows. */
  readonly supervisor?: Supervisor;
};

export const makeVideoPoller = (deps: VideoPollerDeps) => {
  const running = new Map<string, number>(); // jobId -> created at
  const maxPerTick = deps.maxPerTick ?? 50;
  const supervisor = deps.supervisor ?? makeSupervisor({ clock: { now: Date.now, sleep: async () => undefined }, ids: { random: () => 0.5 }, logger: deps.logger });
  let subscription: Subscription | undefined;
  let loop: Loop | undefined;
  let polling: Promise<number> | undefined;
  supervisor.gauge('video.runningJobs', () => running.size);

  const track = (streamName: string, recorded: Parameters<typeof decodeVideoJobEvent>[0]) => {
    const event = decodeVideoJobEvent(recorded);
    if (event === undefined) return;
    const jobId = streamName.slice(videoJobStreamPrefix.length);
    // A request whose creation answer was lost is driven too: advancing it reconciles it with the provider's list.
    if (event.type === 'VideoJobRequested' || event.type === 'VideoJobCreated') running.set(jobId, event.data.at);
    else running.delete(jobId);
  };

  const pollOnce = async (): Promise<number> => {
    let ended = 0;
    let failed = 0;
    let firstError: unknown;
    const due = [...running.entries()].sort((a, b) => a[1] - b[1]).slice(0, maxPerTick);
    for (const [jobId] of due) {
      try {
        const result = await deps.jobs.advance(jobId);
        if (E.isRight(result) && result.right.status !== 'queued' && result.right.status !== 'in_progress') {
          running.delete(jobId);
          ended += 1;
        }
      } catch (error) {
        failed += 1;
        firstError ??= error;
        deps.logger.error({ jobId, err: (error as Error).message }, 'video job poll failed; will retry');
      }
    }
    // The jobs that failed stay running; failing the tick makes the supervisor count it and retry soon.
    if (failed > 0) throw new Error(`${failed} video job poll(s) failed: ${firstError instanceof Error ? firstError.message : String(firstError)}`);
    return ended;
  };

  /** Runs one poll of every running job; concurrent calls share the poll in progress. */
  const pollNow = (): Promise<number> => {
    polling ??= pollOnce().finally(() => {
      polling = undefined;
    });
    return polling;
  };

  return {
    start: async () => {
      subscription = supervisor.subscribe('video.subscription', deps.store, (recorded) => {
        if (recorded.streamName.startsWith(videoJobStreamPrefix)) track(recorded.streamName, recorded);
      });
      await subscription.caughtUp;
      loop = supervisor.every('video.poll', deps.intervalMs, async () => {
        await pollNow();
      });
    },
    pollNow,
    /** Job ids being driven (tests, /stats). */
    running: (): readonly string[] => [...running.keys()],
    stop: async () => {
      loop?.stop();
      loop = undefined;
      await subscription?.stop();
      subscription = undefined;
      await polling?.catch(() => undefined);
    },
  };
};

export type VideoPoller = ReturnType<typeof makeVideoPoller>;
