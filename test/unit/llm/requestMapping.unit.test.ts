import { describe, expect, it } from '@jest/globals';
import { anthropicRequestBody, toAnthropicMessages } from '../../../adapters/llm/anthropic/anthropicProvider.js';
import { isReasoningModel, openAiRequestBody } from '../../../adapters/llm/openai/openaiProvider.js';
import { countChatTokens, countTextTokens } from '../../../adapters/llm/tokenizer.js';

describe('OpenAI request body', () => {
  it('always asks for usage in the stream and passes max_tokens', () => {
    expect(openAiRequestBody({ model: 'gpt-4', maxTokens: 10, messages: [{ role: 'user', content: 'x' }] })).toEqual({
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 10,
    });
  });

  it('uses max_completion_tokens for reasoning models', () => {
    expect(['o3-mini', 'o4-mini', 'o3'].every(isReasoningModel)).toBe(true);
    expect(['gpt-4o', 'gpt-4.1-mini', 'gpt-3.5-turbo'].some(isReasoningModel)).toBe(false);
  });
});

describe('Anthropic request body', () => {
  it('has no system field without a system prompt, and keeps temperature in 0..1', () => {
    const body = anthropicRequestBody({ model: 'm', maxTokens: 5, temperature: -1, messages: [{ role: 'user', content: 'x' }] });
    expect(body).toEqual({ model: 'm', max_tokens: 5, stream: true, temperature: 0, messages: [{ role: 'user', content: 'x' }] });
  });

  it('keeps alternating turns as they are', () => {
    const turns = [
      { role: 'user' as const, content: 'a' },
      { role: 'assistant' as const, content: 'b' },
      { role: 'user' as const, content: 'c' },
    ];
    expect(toAnthropicMessages(turns)).toEqual({ system: '', turns });
  });
});

describe('tokenizer', () => {
  it('picks the encoding of the model family', () => {
    const text = 'Tokenizers differ: cl100k_base vs o200k_base on some unusual wordings like ümlaut and 日本語.';
    expect(countTextTokens('gpt-4', text)).toBe(countTextTokens('gpt-3.5-turbo', text));
    expect(countTextTokens('gpt-4o', text)).toBe(countTextTokens('o4-mini', text));
    expect(countTextTokens('gpt-4', text)).not.toBe(countTextTokens('gpt-4o', text));
  });

  it('counts the chat framing: 3 per message plus role, plus 3 to prime the reply', () => {
    expect(countChatTokens('gpt-4o', [])).toBe(3);
    expect(countChatTokens('gpt-4o', [{ role: 'user', content: '' }])).toBe(3 + 3 + 1);
    expect(countTextTokens('gpt-4o', '')).toBe(0);
  });
});
