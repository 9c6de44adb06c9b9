import type { ChatRequest, LlmError, LlmProvider, LlmStream, ProviderName, StreamItem, Usage } from '../../application/ports/llmProvider.js';
import { llmFailure } from '../../application/ports/llmProvider.js';

/**
 * A hand-driven LlmProvider for application tests: each call plays a script
 * (chunks, then usage or a failure), honours the abort signal the way the
 * real adapters do (Aborted error with what was produced), and records what
 * it was asked. One output token per chunk keeps the arithmetic obvious.
 */
export type Script = {
  readonly chunks: readonly string[];
  readonly inputTokens?: number;
  /** Fail before the first chunk with this error. */
  readonly failBefore?: Pick<LlmError, '_tag' | 'retryable'>;
  /** Fail after this many chunks. */
  readonly failAfter?: number;
  readonly delayMs?: number;
  /** Delay before the first item (the provider's time to first token). */
  readonly firstDelayMs?: number;
};

export type FakeProvider = LlmProvider & {
  readonly calls: ChatRequest[];
  readonly aborted: () => number;
  script: Script;
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });

export const makeFakeProvider = (name: ProviderName, models: readonly string[], script: Script): FakeProvider => {
  const calls: ChatRequest[] = [];
  let abortCount = 0;
  const self: FakeProvider = {
    name,
    kind: 'scripted',
    calls,
    script,
    aborted: () => abortCount,
    models: () => models,
    estimateInputTokens: (req) => req.messages.reduce((n, m) => n + m.content.split(/\s+/).length, 0),
    available: () => true,
    inFlight: () => 0,
    stream: (req, signal): LlmStream => {
      calls.push(req);
      const plan = self.script;
      let produced: Usage = { inputTokens: 0, outputTokens: 0 };
      let finished = false;
      // An abort counts as reaching the provider if it arrives while the request is still open.
      signal.addEventListener('abort', () => (finished ? undefined : abortCount++), { once: true });
      async function* items(): AsyncGenerator<StreamItem> {
        try {
          await sleep(plan.firstDelayMs ?? 0, signal);
          if (plan.failBefore !== undefined) throw llmFailure({ ...plan.failBefore, provider: name, message: 'scripted failure' });
          produced = { inputTokens: plan.inputTokens ?? 10, outputTokens: 0 };
          for (const [i, text] of plan.chunks.entries()) {
            if (plan.failAfter === i) throw llmFailure({ _tag: 'ProviderError', retryable: true, provider: name, message: 'broke mid-stream', partialUsage: produced });
            if (i > 0) await sleep(plan.delayMs ?? 0, signal);
            produced = { ...produced, outputTokens: produced.outputTokens + 1 };
            yield { type: 'chunk', text };
          }
          yield { type: 'usage', usage: produced };
          finished = true;
        } catch (error) {
          finished = true;
          if (signal.aborted) {
            throw llmFailure({ _tag: 'Aborted', retryable: false, provider: name, message: 'aborted', partialUsage: produced });
          }
          throw error;
        }
      }
      return Object.assign(items(), { usageSoFar: () => produced });
    },
  };
  return self;
};
