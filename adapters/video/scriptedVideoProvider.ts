import * as E from 'fp-ts/lib/Either.js';
import type { ProviderVideo, VideoPlan, VideoProvider } from '../../application/ports/videoProvider.js';
import { planSora } from './soraParams.js';

/**
 * The built-in video provider, used when OPENAI_API_KEY is unset: the same
 * parameter rules as Sora 2, jobs that move queued -> in_progress ->
 * completed one step per poll, and a small deterministic MP4-shaped payload.
 * A prompt containing `[fail]` fails, so the release path can be tried by hand.
 * Jobs live in memory: after a restart they are unknown, and the poller
 * releases their holds ("lost").
 */
export type ScriptedVideoOptions = {
  /** Polls a job takes from queued to its end. Default 2. */
  readonly stepsToFinish?: number;
  /** Jobs kept; the oldest are forgotten first. Default 1000. */
  readonly maxJobs?: number;
  readonly now?: () => number;
};

type Job = { readonly plan: VideoPlan; readonly fails: boolean; readonly prompt: string; readonly createdAt: number; polls: number };

/** An `ftyp` box and a note: enough for a client to see an MP4 signature. */
export const scriptedVideoBytes = (id: string, plan: VideoPlan): Uint8Array => {
  const note = new TextEncoder().encode(`scripted video ${id} ${plan.model} ${plan.size} ${plan.seconds}s`);
  const ftyp = new Uint8Array([0, 0, 0, 24, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d, 0x6d, 0x70, 0x34, 0x31]);
  const out = new Uint8Array(ftyp.length + note.length);
  out.set(ftyp, 0);
  out.set(note, ftyp.length);
  return out;
};

export const makeScriptedVideoProvider = (options: ScriptedVideoOptions = {}): VideoProvider => {
  const steps = Math.max(1, options.stepsToFinish ?? 2);
  const maxJobs = options.maxJobs ?? 1000;
  const jobs = new Map<string, Job>();
  let counter = 0;

  const view = (id: string, job: Job): ProviderVideo => {
    const base = { id, seconds: job.plan.seconds, size: job.plan.size };
    if (job.polls === 0) return { ...base, status: 'queued', progress: 0 };
    if (job.polls < steps) return { ...base, status: 'in_progress', progress: Math.floor((100 * job.polls) / steps) };
    if (job.fails) return { ...base, status: 'failed', progress: 100, error: { code: 'scripted_failure', message: 'the prompt asked to fail' } };
    return { ...base, status: 'completed', progress: 100 };
  };

  return {
    name: 'scripted',
    plan: planSora,
    create: async (plan, prompt) => {
      const id = `video_scripted_${++counter}`;
      jobs.set(id, { plan, fails: prompt.includes('[fail]'), prompt, createdAt: (options.now ?? Date.now)(), polls: 0 });
      if (jobs.size > maxJobs) {
        const oldest = jobs.keys().next().value;
        if (oldest !== undefined) jobs.delete(oldest);
      }
      return E.right({ id, status: 'queued', progress: 0, seconds: plan.seconds, size: plan.size });
    },
    retrieve: async (id) => {
      const job = jobs.get(id);
      if (job === undefined) return E.left({ _tag: 'VideoNotFound', id });
      job.polls += 1;
      return E.right(view(id, job));
    },
    list: async ({ limit }) =>
      E.right(
        [...jobs.entries()]
          .reverse()
          .slice(0, Math.max(limit, 0))
          .map(([id, job]) => {
            // Listing is not a poll: the job does not move.
            const shown = view(id, job);
            return { ...shown, model: job.plan.model, prompt: job.prompt, createdAt: job.createdAt };
          }),
      ),
    content: async (id) => {
      const job = jobs.get(id);
      if (job === undefined || job.polls < steps || job.fails) return E.left({ _tag: 'VideoContentUnavailable', id, message: 'no content for this job' });
      const bytes = scriptedVideoBytes(id, job.plan);
      return E.right({
        contentType: 'video/mp4',
        contentLength: bytes.length,
        body: (async function* () {
          yield bytes;
        })(),
      });
    },
  };
};
