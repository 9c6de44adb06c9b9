import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import OpenAI from 'openai';
import type { ChatRequest, LlmProvider } from '../../../application/ports/llmProvider.js';
import { llmFailure } from '../../../application/ports/llmProvider.js';
import { classifyThrown, llmError } from '../llmErrors.js';
import type { ResilienceHooks, ResilienceOptions } from '../resilience.js';
import { DEFAULT_RESILIENCE, makeResilience } from '../resilience.js';
import type { WireEvent } from '../sdkProvider.js';
import { makeSdkProvider } from '../sdkProvider.js';

/**
 * OpenAI chat completions through the official `openai` SDK, streamed with
 * `stream_options.include_usage` so the last chunk (with empty `choices`)
 * carries the exact token counts. The SDK's own retries are off: resilience.ts
 * is the one retry policy.
 */

export type OpenAiProviderOptions = {
  readonly apiKey: string;
  /** e.g. https://api.openai.com/v1 (the SDK's default) or a fixture server's /v1. */
  readonly baseURL?: string;
  readonly models: () => readonly string[];
  readonly resilience?: ResilienceOptions;
  readonly hooks?: ResilienceHooks;
};

const NonNegativeInt = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'NonNegativeInt');

/** The fields of a `chat.completion.chunk` we rely on; everything else is ignored. */
const Chunk = t.type({
  choices: t.union([
    t.null,
    t.array(
      t.type({
        index: t.number,
        delta: t.union([t.undefined, t.null, t.partial({ content: t.union([t.string, t.null]) })]),
        finish_reason: t.union([t.undefined, t.null, t.string]),
      }),
    ),
  ]),
  usage: t.union([t.undefined, t.null, t.type({ prompt_tokens: NonNegativeInt, completion_tokens: NonNegativeInt })]),
});

/**
 * The o-series (and later reasoning models) refuse `max_tokens` and a custom
 * temperature; they take `max_completion_tokens`, which also bounds the
 * hidden reasoning tokens that are billed as output.
 */
export const isReasoningModel = (model: string): boolean => /^(o\d|gpt-5)/.test(model);

export const openAiRequestBody = (req: ChatRequest) => {
  const reasoning = isReasoningModel(req.model);
  return {
    model: req.model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    stream: true as const,
    stream_options: { include_usage: true },
    ...(reasoning ? { max_completion_tokens: req.maxTokens } : { max_tokens: req.maxTokens }),
    ...(req.temperature !== undefined && !reasoning ? { temperature: req.temperature } : {}),
  };
};

async function* toWireEvents(chunks: AsyncIterable<unknown>): AsyncGenerator<WireEvent> {
  for await (const raw of chunks) {
    const decoded = Chunk.decode(raw);
    if (E.isLeft(decoded)) {
      throw llmFailure(llmError('ProviderError', 'openai', 'unexpected chunk shape from provider', true));
    }
    const chunk = decoded.right;
    for (const choice of chunk.choices ?? []) {
      // n is always 1 here; another index would be a provider bug, not text for this client.
      if (choice.index !== 0) continue;
      const content = choice.delta?.content;
      if (typeof content === 'string' && content.length > 0) yield { type: 'text', text: content };
      if (typeof choice.finish_reason === 'string') yield { type: 'finish' };
    }
    if (chunk.usage) {
      yield { type: 'usage', inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
    }
  }
}

export const makeOpenAiProvider = (options: OpenAiProviderOptions): LlmProvider => {
  const resilienceOptions = options.resilience ?? DEFAULT_RESILIENCE;
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    // Our own connect timer fires first; this is only a backstop.
    timeout: resilienceOptions.connectTimeoutMs + 1_000,
    logLevel: 'off',
  });
  return makeSdkProvider({
    name: 'openai',
    models: options.models,
    resilience: makeResilience('openai', resilienceOptions, options.hooks),
    timeouts: resilienceOptions,
    classify: (thrown) => classifyThrown('openai', thrown, Date.now(), (e) => e instanceof OpenAI.APIConnectionError),
    openWire: async (req, signal) => {
      const stream = await client.chat.completions.create(openAiRequestBody(req), { signal });
      return toWireEvents(stream);
    },
  });
};
