import { countChatTokens } from '../../adapters/llm/tokenizer.js';
import type { Frame, SseDialect, SseFixture, StreamPlan } from './openaiFixture.js';
import { startSseFixture } from './openaiFixture.js';

export type { Fault, RecordedRequest, Reply, SseFixture } from './openaiFixture.js';

/**
 * A local HTTP server that speaks Anthropic's Messages API streaming format:
 * named SSE events (`event:` line, then `data:`) in the order message_start,
 * content_block_start, ping, content_block_delta (text_delta)...,
 * content_block_stop, message_delta (stop_reason and cumulative
 * output_tokens), message_stop. Faults and recording come from
 * startSseFixture in openaiFixture.ts.
 *
 * By default it reports 15% more input tokens than our tokenizer counts, as
 * Claude's own tokenizer differs from OpenAI's; tests can check that the
 * provider's number (not our estimate) is what gets reported.
 */

export const CLAUDE_INPUT_FACTOR = 1.15;

const event = (name: string, data: unknown): Frame => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

type Message = { role: 'user' | 'assistant'; content: string };

const anthropicDialect: SseDialect = {
  path: '/v1/messages',
  baseSuffix: '',
  promptTokens: (body) => {
    const model = typeof body['model'] === 'string' ? body['model'] : 'claude';
    const system = typeof body['system'] === 'string' ? [{ role: 'system' as const, content: body['system'] }] : [];
    const messages = Array.isArray(body['messages']) ? (body['messages'] as Message[]) : [];
    return countChatTokens(model, [...system, ...messages]);
  },
  maxTokens: (body) => (typeof body['max_tokens'] === 'number' ? body['max_tokens'] : undefined),
  head: (p: StreamPlan) => [
    event('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_fixture',
        type: 'message',
        role: 'assistant',
        model: p.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: p.usage.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
      },
    }),
    event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    event('ping', { type: 'ping' }),
  ],
  chunk: (_p, text) => event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
  tail: (p) => [
    event('content_block_stop', { type: 'content_block_stop', index: 0 }),
    event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: p.truncated ? 'max_tokens' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: p.usage.outputTokens },
    }),
    event('message_stop', { type: 'message_stop' }),
  ],
  malformed: () => 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"oo\n\n',
  errorEvent: () => event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
  errorBody: (status) => ({
    type: 'error',
    error: {
      type:
        status === 429
          ? 'rate_limit_error'
          : status === 529
            ? 'overloaded_error'
            : status === 404
              ? 'not_found_error'
              : status >= 500
                ? 'api_error'
                : 'invalid_request_error',
      message: status === 404 ? 'model: not found' : `fixture error ${status}`,
    },
  }),
};

/** An Anthropic fixture: pass `baseURL` to the SDK (the SDK adds /v1/messages). */
export const startAnthropicFixture = (options: { inputFactor?: number } = {}): Promise<SseFixture> =>
  startSseFixture(anthropicDialect, { inputFactor: options.inputFactor ?? CLAUDE_INPUT_FACTOR });
