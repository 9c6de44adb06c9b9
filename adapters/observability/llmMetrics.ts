import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { LlmProvider, LlmStream } from '../../application/ports/llmProvider.js';
import { llmErrorOf } from '../../application/ports/llmProvider.js';
import type { ResilienceHooks } from '../llm/resilience.js';

/**
 * Provider metrics: retries and breaker changes come from the resilience
 * hooks; errors from a provider decorator that watches every stream end in
 * an error (client aborts are not provider errors and are not counted).
 */
export const makeLlmMetrics = (registry: Registry) => {
  const registers = [registry];
  const errors = new Counter({ name: 'llm_provider_errors_total', help: 'Provider streams that ended in an error, by provider and error.', labelNames: ['provider', 'error'] as const, registers });
  const retries = new Counter({ name: 'llm_provider_retries_total', help: 'Provider requests retried, by provider and the error that caused the retry.', labelNames: ['provider', 'error'] as const, registers });
  const transitions = new Counter({ name: 'llm_breaker_transitions_total', help: 'Circuit breaker state changes, by provider and new state.', labelNames: ['provider', 'state'] as const, registers });

  const hooks: ResilienceHooks = {
    onRetry: (e) => retries.inc({ provider: e.provider, error: e.error._tag }),
    onBreaker: (e) => transitions.inc({ provider: e.provider, state: e.state }),
  };

  const watch = (provider: string, stream: LlmStream): LlmStream => ({
    usageSoFar: () => stream.usageSoFar(),
    [Symbol.asyncIterator]: () => {
      const inner = stream[Symbol.asyncIterator]();
      const counted = <T>(step: Promise<T>): Promise<T> =>
        step.catch((thrown: unknown) => {
          const tag = llmErrorOf(thrown)?._tag ?? 'Unknown';
          if (tag !== 'Aborted') errors.inc({ provider, error: tag });
          throw thrown;
        });
      return {
        next: () => counted(inner.next()),
        return: (value?: unknown) => (inner.return === undefined ? Promise.resolve({ done: true as const, value: undefined }) : counted(inner.return(value))),
      } as AsyncIterator<never>;
    },
  });

  const instrument = (provider: LlmProvider): LlmProvider => ({ ...provider, stream: (req, signal) => watch(provider.name, provider.stream(req, signal)) });

  return { hooks, instrument };
};
