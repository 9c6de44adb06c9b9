import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import type { ChatMessage } from '../../application/ports/llmProvider.js';

/**
 * Token counting with OpenAI's real BPE encodings (gpt-tokenizer).
 *
 * GPT-3.5 / GPT-4 / GPT-4-turbo use cl100k_base; GPT-4o, GPT-4.1 and the
 * o-series use o200k_base. Anthropic does not publish Claude's tokenizer, so
 * Claude models are counted with o200k_base as an approximation; the price
 * sheet's `estimateMargin.claude` covers the difference (docs/providers.md).
 */

type Encoding = { readonly countTokens: (text: string) => number };

const CL100K_MODELS = /^(gpt-3\.5|gpt-4(-turbo|-\d{4}|-32k)?$|gpt-4-turbo|gpt-4-\d)/;

const encodingFor = (model: string): Encoding => (CL100K_MODELS.test(model) ? cl100k : o200k);

/** Tokens of a plain text (an answer, a chunk) as the model's encoding counts them. */
export const countTextTokens = (model: string, text: string): number =>
  text.length === 0 ? 0 : encodingFor(model).countTokens(text);

/**
 * Tokens of a chat prompt using OpenAI's documented framing: every message
 * costs its role and content plus 3 framing tokens, and the reply is primed
 * with 3 more. This matches `prompt_tokens` for the chat models in the table.
 */
export const countChatTokens = (model: string, messages: readonly ChatMessage[]): number => {
  const enc = encodingFor(model);
  let total = 3;
  for (const m of messages) total += 3 + enc.countTokens(m.role) + (m.content.length === 0 ? 0 : enc.countTokens(m.content));
  return total;
};
