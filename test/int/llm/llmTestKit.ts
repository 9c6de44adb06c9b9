import type { ChatRequest, LlmError, StreamItem, Usage } from '../../../application/ports/llmProvider.js';
import { llmErrorOf } from '../../../application/ports/llmProvider.js';
import type { ResilienceOptions } from '../../../adapters/llm/resilience.js';

/** Small timeouts and backoffs so fault tests take milliseconds, not the production seconds. */
export const FAST: ResilienceOptions = {
  maxConcurrent: 4,
  maxQueued: 4,
  queueTimeoutMs: 500,
  maxRetries: 3,
  initialBackoffMs: 20,
  maxBackoffMs: 80,
  retryAfterCapMs: 300,
  deadlineMs: 3_000,
  connectTimeoutMs: 300,
  firstChunkTimeoutMs: 300,
  idleTimeoutMs: 200,
  breakerThreshold: 3,
  breakerHalfOpenAfterMs: 300,
};

export const ask = (model: string, content = 'Say hello.', maxTokens = 64, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model,
  messages: [{ role: 'user', content }],
  maxTokens,
  ...extra,
});

export type Collected = { chunks: string[]; usage: Usage | undefined; error: LlmError | undefined };

/** Reads a stream to its end, keeping what arrived and the failure, if any. */
export const collect = async (items: AsyncIterable<StreamItem>): Promise<Collected> => {
  const out: Collected = { chunks: [], usage: undefined, error: undefined };
  try {
    for await (const item of items) {
      if (item.type === 'chunk') out.chunks.push(item.text);
      else out.usage = item.usage;
    }
  } catch (e) {
    const llm = llmErrorOf(e);
    if (llm === undefined) throw e;
    out.error = llm;
  }
  return out;
};

/** Fails the test instead of hanging when a promise does not settle in time. */
export const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
