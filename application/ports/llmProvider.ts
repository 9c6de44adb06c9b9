/**
 * The LlmProvider port: stream one chat completion from a model provider.
 *
 * A provider yields the text as it is written (`chunk` items) and ends with
 * exactly one `usage` item carrying the provider's own token counts. Failures
 * are thrown as an Error carrying an `LlmError` in its `llm` property (see
 * `llmFailure` / `llmErrorOf`), so `for await` loops stay plain.
 *
 * Adapters: adapters/llm/openai, adapters/llm/anthropic, adapters/llm/scripted;
 * the router in adapters/llm/router chooses among them. docs/providers.md
 * explains the contract from the caller's side.
 */

export type ProviderName = 'openai' | 'claude';
export type ProviderPreference = ProviderName | 'auto';

export type ChatMessage = { readonly role: 'system' | 'user' | 'assistant'; readonly content: string };

export type ChatRequest = {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  /** Always set: the hold is computed from it, and it is always passed to the provider. */
  readonly maxTokens: number;
  readonly temperature?: number;
};

export type Usage = { readonly inputTokens: number; readonly outputTokens: number };

export type StreamItem = { readonly type: 'chunk'; readonly text: string } | { readonly type: 'usage'; readonly usage: Usage };

export type LlmErrorTag = 'ProviderRateLimited' | 'ProviderUnavailable' | 'ProviderError' | 'UnknownModel' | 'Aborted';

export type LlmError = {
  readonly _tag: LlmErrorTag;
  readonly provider: ProviderName;
  readonly message: string;
  /** Whether the same request may succeed if sent again later (shown to clients). */
  readonly retryable: boolean;
  /**
   * What the provider had produced when the stream broke or was aborted after
   * it had started; absent when nothing was produced (the failure came before
   * the first chunk). The gateway settles for this.
   */
  readonly partialUsage?: Usage;
  /** The provider's retry-after hint, in ms, when it sent one (429/503). */
  readonly retryAfterMs?: number;
  /** HTTP status of the provider's answer, when there was one. */
  readonly status?: number;
};

/**
 * One started completion. It is an AsyncIterable of StreamItems that can be
 * iterated once; `usageSoFar` tells, at any moment (including after an abort
 * or a break out of the loop), what the provider has produced until now.
 */
export type LlmStream = AsyncIterable<StreamItem> & {
  readonly usageSoFar: () => Usage;
};

export type LlmProvider = {
  readonly name: ProviderName;
  /** 'scripted' = the built-in stand-in used when no API key is configured; shown in /health. */
  readonly kind: 'real' | 'scripted';
  /** Models this provider serves (from the price sheet's model table). */
  readonly models: () => readonly string[];
  /** Input tokens of the request as counted by a real tokenizer (before any safety margin). */
  readonly estimateInputTokens: (req: ChatRequest) => number;
  /**
   * Starts nothing until iterated. Aborting `signal` closes the upstream
   * request; the pending read then throws an `Aborted` LlmError whose
   * `partialUsage` is what was produced.
   */
  readonly stream: (req: ChatRequest, signal: AbortSignal) => LlmStream;
  /** False while the circuit breaker is open or the request queue is full. */
  readonly available: () => boolean;
  /** Requests running or waiting for a slot. */
  readonly inFlight: () => number;
};

export type LlmFailure = Error & { readonly llm: LlmError };

/** Wraps an LlmError into a throwable Error (the message is kept for logs). */
export const llmFailure = (llm: LlmError, cause?: unknown): LlmFailure =>
  Object.assign(new Error(`${llm.provider}: ${llm._tag}: ${llm.message}`, cause === undefined ? undefined : { cause }), {
    llm,
  });

/** The LlmError carried by a thrown value, if it carries one. */
export const llmErrorOf = (thrown: unknown): LlmError | undefined => {
  if (typeof thrown !== 'object' || thrown === null || !('llm' in thrown)) return undefined;
  const llm = (thrown as { llm: unknown }).llm;
  return typeof llm === 'object' && llm !== null && '_tag' in llm ? (llm as LlmError) : undefined;
};
