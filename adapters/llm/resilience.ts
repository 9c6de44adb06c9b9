import {
  BulkheadPolicy,
  CircuitState,
  ExponentialBackoff,
  circuitBreaker,
  halfJitterGenerator,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isIsolatedCircuitError,
  retry,
} from 'cockatiel';
import type { IBackoff, IBackoffFactory, IBreaker } from 'cockatiel';
import type { LlmError, ProviderName } from '../../application/ports/llmProvider.js';
import { llmErrorOf, llmFailure } from '../../application/ports/llmProvider.js';
import { countsAgainstProvider, llmError } from './llmErrors.js';

/**
 * One provider's resilience, built from cockatiel policies (no hand-written
 * retry loops): a bulkhead (bounded concurrency and queue, with our wait
 * timeout), a consecutive-failure circuit breaker, and a retry policy whose
 * delay honours the provider's retry-after or else backs off exponentially
 * with jitter, bounded in attempts and by a deadline. Retries only cover the
 * opening of a stream (up to its first item): see sdkProvider.ts.
 */

export type ResilienceOptions = {
  /** Streams running at once against this provider. */
  readonly maxConcurrent: number;
  /** Requests allowed to wait for a slot; beyond that they are refused at once. */
  readonly maxQueued: number;
  /** How long a request may wait in the queue. */
  readonly queueTimeoutMs: number;
  /** Retries after the first try (so maxRetries + 1 tries at most). */
  readonly maxRetries: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** A retry-after longer than this is cut down to it. */
  readonly retryAfterCapMs: number;
  /** No retry starts later than this after the first try began. */
  readonly deadlineMs: number;
  /** From sending the request to the response headers. */
  readonly connectTimeoutMs: number;
  /** From the headers to the first text (reasoning models think silently first). */
  readonly firstChunkTimeoutMs: number;
  /** Longest silence between two events once text flows. */
  readonly idleTimeoutMs: number;
  /** Consecutive failures that open the breaker. */
  readonly breakerThreshold: number;
  /** Time the breaker stays open before letting one probe through. */
  readonly breakerHalfOpenAfterMs: number;
};

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  maxConcurrent: 32,
  maxQueued: 64,
  queueTimeoutMs: 10_000,
  maxRetries: 3,
  initialBackoffMs: 250,
  maxBackoffMs: 4_000,
  retryAfterCapMs: 20_000,
  deadlineMs: 30_000,
  connectTimeoutMs: 10_000,
  firstChunkTimeoutMs: 120_000,
  idleTimeoutMs: 30_000,
  breakerThreshold: 5,
  breakerHalfOpenAfterMs: 15_000,
};

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export type ResilienceHooks = {
  readonly onRetry?: (event: { provider: ProviderName; attempt: number; delayMs: number; error: LlmError }) => void;
  readonly onBreaker?: (event: { provider: ProviderName; state: BreakerState }) => void;
};

export type Resilience = {
  /** Waits for a slot; resolves with the function that gives it back. Throws an LlmFailure. */
  readonly acquire: (signal: AbortSignal) => Promise<() => void>;
  /** Runs `attempt` under retry and breaker. Throws an LlmFailure. */
  readonly run: <T>(attempt: () => Promise<T>, signal: AbortSignal) => Promise<T>;
  /** Tells the breaker about a failure that happened after a stream had opened. */
  readonly recordFailure: (error: LlmError) => void;
  /** Tells the breaker a stream completed: the run of consecutive failures is over. */
  readonly recordSuccess: () => void;
  readonly available: () => boolean;
  readonly inFlight: () => number;
  readonly breakerState: () => BreakerState;
};

const stateName = (s: CircuitState): BreakerState =>
  s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'halfOpen' : 'open';

/**
 * Counts consecutive failed requests. Unlike cockatiel's ConsecutiveBreaker,
 * a stream that merely opened is not a success: only a completed stream
 * resets the count (`completed`), so a provider that keeps breaking streams
 * mid-way still trips the breaker. A successful half-open probe closes it.
 */
const makeRequestBreaker = (threshold: number) => {
  let failures = 0;
  const breaker: IBreaker = {
    get state() {
      return failures;
    },
    set state(value: unknown) {
      failures = typeof value === 'number' ? value : 0;
    },
    success: (state) => {
      if (state === CircuitState.HalfOpen) failures = 0;
    },
    failure: () => {
      failures += 1;
      return failures >= threshold;
    },
  };
  return { breaker, completed: () => (failures = 0) };
};

const makeBreaker = (provider: ProviderName, o: ResilienceOptions, hooks: ResilienceHooks, now: () => number) => {
  const counter = makeRequestBreaker(o.breakerThreshold);
  const policy = circuitBreaker(
    handleWhen((err) => {
      const llm = llmErrorOf(err);
      return llm !== undefined && countsAgainstProvider(llm);
    }),
    { halfOpenAfter: o.breakerHalfOpenAfterMs, breaker: counter.breaker },
  );
  let openedAt = 0;
  policy.onBreak(() => {
    openedAt = now();
  });
  policy.onStateChange((s) => hooks.onBreaker?.({ provider, state: stateName(s) }));
  // cockatiel only leaves Open when a call arrives; a router that skipped an
  // open provider forever would never let that call happen, so "available"
  // turns true again once the half-open delay has passed.
  const allowsCalls = () =>
    policy.state === CircuitState.Closed ||
    policy.state === CircuitState.HalfOpen ||
    (policy.state === CircuitState.Open && now() - openedAt >= o.breakerHalfOpenAfterMs);
  return { policy, allowsCalls, completed: counter.completed };
};

const makeBulkhead = (provider: ProviderName, o: ResilienceOptions) => {
  const bulkhead = new BulkheadPolicy(o.maxConcurrent, o.maxQueued);
  let active = 0;
  let waiting = 0;
  const acquire = (signal: AbortSignal): Promise<() => void> =>
    new Promise((resolve, reject) => {
      // A waiter that gave up stays in cockatiel's queue until a slot frees;
      // its function then returns at once. It is deliberately not given an
      // aborted signal: cockatiel would skip it without advancing the queue.
      let settled = false;
      waiting += 1;
      const fail = (error: LlmError) => {
        if (settled) return;
        settled = true;
        waiting -= 1;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        reject(llmFailure(error));
      };
      const onAbort = () => fail(llmError('Aborted', provider, 'aborted while waiting for a slot', false));
      const timer = setTimeout(
        () => fail(llmError('ProviderUnavailable', provider, `no free slot within ${o.queueTimeoutMs} ms`, true)),
        o.queueTimeoutMs,
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      bulkhead
        .execute(async () => {
          if (settled) return;
          settled = true;
          waiting -= 1;
          active += 1;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          await new Promise<void>((release) =>
            resolve(() => {
              active -= 1;
              release();
            }),
          );
        })
        .catch((err: unknown) => {
          if (isBulkheadRejectedError(err)) fail(llmError('ProviderUnavailable', provider, 'request queue is full', true));
        });
    });
  const full = () => active >= o.maxConcurrent && waiting >= o.maxQueued;
  return { acquire, inFlight: () => active + waiting, full };
};

/** Rejects as soon as `signal` aborts, leaving `work` to finish (and be ignored) in the background. */
const raceAbort = <T>(work: Promise<T>, signal: AbortSignal, provider: ProviderName): Promise<T> => {
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(llmFailure(llmError('Aborted', provider, 'the request was aborted', false)));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
};

export const makeResilience = (
  provider: ProviderName,
  options: ResilienceOptions = DEFAULT_RESILIENCE,
  hooks: ResilienceHooks = {},
  now: () => number = Date.now,
): Resilience => {
  const o = options;
  const breaker = makeBreaker(provider, o, hooks, now);
  const bulkhead = makeBulkhead(provider, o);
  const expo = new ExponentialBackoff({ initialDelay: o.initialBackoffMs, maxDelay: o.maxBackoffMs, generator: halfJitterGenerator });

  const toFailure = (err: unknown): Error => {
    if (llmErrorOf(err) !== undefined) return err as Error;
    if (isBrokenCircuitError(err) || isIsolatedCircuitError(err)) {
      return llmFailure(llmError('ProviderUnavailable', provider, 'circuit breaker is open', true), err);
    }
    return llmFailure(llmError('ProviderError', provider, err instanceof Error ? err.message : String(err), false), err);
  };

  const run = <T>(attempt: () => Promise<T>, signal: AbortSignal): Promise<T> => {
    const startedAt = now();
    let backoff: IBackoff<unknown> | undefined;
    let plannedMs = 0;
    // The filter decides whether to retry and plans the delay in one place,
    // so a retry-after that would overshoot the deadline stops retrying now.
    const shouldRetry = (err: Error): boolean => {
      const llm = llmErrorOf(err);
      if (llm === undefined || !llm.retryable || signal.aborted) return false;
      if (err.cause !== undefined && isBrokenCircuitError(err.cause)) return false;
      let delay: number;
      if (llm.retryAfterMs !== undefined) delay = Math.min(llm.retryAfterMs, o.retryAfterCapMs);
      else {
        backoff = backoff === undefined ? expo.next() : backoff.next(undefined);
        delay = backoff.duration;
      }
      if (now() - startedAt + delay > o.deadlineMs) return false;
      plannedMs = delay;
      return true;
    };
    const planned: IBackoffFactory<unknown> = { next: () => ({ duration: plannedMs, next: planned.next }) };
    const policy = retry(handleWhen(shouldRetry), { maxAttempts: o.maxRetries, backoff: planned });
    policy.onRetry((ev) => {
      const llm = 'error' in ev ? llmErrorOf(ev.error) : undefined;
      if (llm !== undefined) hooks.onRetry?.({ provider, attempt: ev.attempt, delayMs: ev.delay, error: llm });
    });
    const work = policy.execute(async () => {
      if (signal.aborted) throw llmFailure(llmError('Aborted', provider, 'the request was aborted', false));
      try {
        return await breaker.policy.execute(attempt);
      } catch (err) {
        throw toFailure(err);
      }
    });
    return raceAbort(work, signal, provider).catch((err: unknown) => {
      throw toFailure(err);
    });
  };

  const recordFailure = (error: LlmError): void => {
    if (!countsAgainstProvider(error)) return;
    breaker.policy
      .execute(() => {
        throw llmFailure(error);
      })
      .catch(() => undefined);
  };

  return {
    acquire: bulkhead.acquire,
    run,
    recordFailure,
    recordSuccess: () => {
      breaker.completed();
    },
    available: () => breaker.allowsCalls() && !bulkhead.full(),
    inFlight: bulkhead.inFlight,
    breakerState: () => stateName(breaker.policy.state),
  };
};
