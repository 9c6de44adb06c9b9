import { SingleBar } from 'cli-progress';

/**
 * The audit's progress bar on stderr: done/total, percent, rate and ETA.
 * Only on a terminal; pipes and --json get nothing.
 */
export type Progress = { readonly update: (done: number) => void; readonly stop: () => void };

export const noProgress: Progress = { update: () => undefined, stop: () => undefined };

export type ProgressOptions = { readonly now?: () => number; readonly stream?: NodeJS.WritableStream };

export const makeProgress = (total: number, label: string, options: ProgressOptions = {}): Progress => {
  const now = options.now ?? (() => performance.now());
  const bar = new SingleBar({
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    format: `${label} |{bar}| {percentage}% {value}/{total} events | {rate} events/s | ETA {eta_formatted}`,
    hideCursor: true,
    etaBuffer: 20,
    noTTYOutput: false,
  });
  const started = now();
  bar.start(Math.max(total, 1), 0, { rate: 0 });
  return {
    update: (done) => {
      const seconds = (now() - started) / 1000;
      bar.update(Math.min(done, Math.max(total, 1)), { rate: seconds > 0 ? Math.round(done / seconds) : 0 });
    },
    stop: () => bar.stop(),
  };
};
