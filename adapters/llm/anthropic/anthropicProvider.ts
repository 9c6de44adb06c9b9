import Anthropic from '@anthropic-ai/sdk';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { ChatMessage, ChatRequest, LlmProvider } from '../../../application/ports/llmProvider.js';
import { llmFailure } from '../../../application/ports/llmProvider.js';
import { classifyThrown, llmError } from '../llmErrors.js';
import type { ResilienceHooks, ResilienceOptions } from '../resilience.js';
import { DEFAULT_RESILIENCE, makeResilience } from '../resilience.js';
import type { WireEvent } from '../sdkProvider.js';
import { makeSdkProvider } from '../sdkProvider.js';

/**
 * Claude through the official `@anthropic-ai/sdk`, Messages API streaming.
 * Input tokens come from `message_start`, output tokens from `message_delta`
 * (a cumulative count); `message_stop` ends the answer.
 */

export type AnthropicProviderOptions = {
  readonly apiKey: string;
  /** e.g. https://api.anthropic.com (the SDK's default) or a fixture server's root. */
  readonly baseURL?: string;
  readonly models: () => readonly string[];
  readonly resilience?: ResilienceOptions;
  readonly hooks?: ResilienceHooks;
};

const Count = t.union([t.undefined, t.null, t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'Count')]);
const InputCounts = t.partial({ input_tokens: Count, cache_creation_input_tokens: Count, cache_read_input_tokens: Count });

const Typed = t.type({ type: t.string });
const MessageStart = t.type({ message: t.type({ usage: InputCounts }) });
const ContentBlockDelta = t.type({ delta: t.type({ type: t.string }) });
const TextDelta = t.type({ text: t.string });
const MessageDelta = t.type({ usage: t.intersection([InputCounts, t.type({ output_tokens: Count })]) });

type InputCounts = t.TypeOf<typeof InputCounts>;

/** Cached input is billed too; we do not use caching, but if it appears it is counted, never dropped. */
const inputOf = (u: InputCounts): number | undefined =>
  u.input_tokens == null ? undefined : u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);

/**
 * Claude takes system prompts as a separate `system` field and only
 * user/assistant turns in `messages`; consecutive turns of one role are
 * merged so the conversation alternates as the API expects.
 */
export const toAnthropicMessages = (messages: readonly ChatMessage[]) => {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const turns: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const last = turns[turns.length - 1];
    if (last !== undefined && last.role === m.role) last.content = `${last.content}\n\n${m.content}`;
    else turns.push({ role: m.role, content: m.content });
  }
  return { system, turns };
};

export const anthropicRequestBody = (req: ChatRequest) => {
  const { system, turns } = toAnthropicMessages(req.messages);
  return {
    model: req.model,
    max_tokens: req.maxTokens,
    messages: turns,
    stream: true as const,
    ...(system.length > 0 ? { system } : {}),
    // Claude accepts 0..1; OpenAI-style values up to 2 are capped rather than refused.
    ...(req.temperature !== undefined ? { temperature: Math.min(1, Math.max(0, req.temperature)) } : {}),
  };
};

const malformed = () => llmFailure(llmError('ProviderError', 'claude', 'unexpected event shape from provider', true));

const decodeOr = <A>(codec: t.Decoder<unknown, A>, raw: unknown): A => {
  const decoded = codec.decode(raw);
  if (E.isLeft(decoded)) throw malformed();
  return decoded.right;
};

/** Translates one Messages API event; events we do not need (ping, block start/stop) give nothing. */
const toWireEvent = (raw: unknown): WireEvent | undefined => {
  switch (decodeOr(Typed, raw).type) {
    case 'message_start': {
      const input = inputOf(decodeOr(MessageStart, raw).message.usage);
      return input === undefined ? undefined : { type: 'usage', inputTokens: input };
    }
    case 'content_block_delta': {
      // Only text is forwarded; other deltas (tool input, thinking) are not requested by this gateway.
      if (decodeOr(ContentBlockDelta, raw).delta.type !== 'text_delta') return undefined;
      return { type: 'text', text: decodeOr(t.type({ delta: TextDelta }), raw).delta.text };
    }
    case 'message_delta': {
      const usage = decodeOr(MessageDelta, raw).usage;
      const input = inputOf(usage);
      const output = usage.output_tokens ?? undefined;
      return {
        type: 'usage',
        ...(input !== undefined ? { inputTokens: input } : {}),
        ...(output !== undefined ? { outputTokens: output } : {}),
      };
    }
    case 'message_stop':
      return { type: 'finish' };
    default:
      return undefined;
  }
};

async function* toWireEvents(events: AsyncIterable<unknown>): AsyncGenerator<WireEvent> {
  for await (const raw of events) {
    const ev = toWireEvent(raw);
    if (ev !== undefined) yield ev;
  }
}

export const makeAnthropicProvider = (options: AnthropicProviderOptions): LlmProvider => {
  const resilienceOptions = options.resilience ?? DEFAULT_RESILIENCE;
  const client = new Anthropic({
    apiKey: options.apiKey,
    ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    timeout: resilienceOptions.connectTimeoutMs + 1_000,
    logLevel: 'off',
  });
  return makeSdkProvider({
    name: 'claude',
    models: options.models,
    resilience: makeResilience('claude', resilienceOptions, options.hooks),
    timeouts: resilienceOptions,
    classify: (thrown) => classifyThrown('claude', thrown, Date.now(), (e) => e instanceof Anthropic.APIConnectionError),
    openWire: async (req, signal) => {
      const body = anthropicRequestBody(req);
      if (body.messages.length === 0) {
        throw llmFailure(llmError('ProviderError', 'claude', 'a Claude request needs at least one user message', false));
      }
      const stream = await client.messages.create(body, { signal });
      return toWireEvents(stream);
    },
  });
};
