import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import type { ChatMessage } from '../../application/ports/llmProvider.js';

/**
 * Token counting with OpenAI's real BPE encodings (gpt-tokenizer), under a
 * work limit.
 *
 * GPT-3.5 / GPT-4 / GPT-4-turbo use cl100k_base; GPT-4o, GPT-4.1 and the
 * o-series use o200k_base. Anthropic does not publish Claude's tokenizer, so
 * Claude models are counted with o200k_base as an approximation; the price
 * sheet's `estimateMargin.claude` covers the difference (docs/providers.md).
 *
 * Why a work limit: the BPE merge loop is quadratic in the length of one
 * pre-token, and every letter of a script without spaces (a run of "a", a
 * line of CJK) is one pre-token. Unbounded, 200,000 "a" took 13 s and 64 KiB
 * of CJK 70 s, all on the event loop. Even split into short pieces the
 * tokenizer costs up to about 4 microseconds per UTF-8 byte of text it has
 * not seen before. So we count exactly only the first
 * `EXACT_BYTES_MAX` bytes of a prompt, in pieces of at most `PIECE_CHARS_MAX`
 * characters, and bound the rest by its UTF-8 length: cl100k and o200k are
 * byte-level encodings whose every token covers at least one byte, so the
 * byte count is a true upper bound. Splitting a run can only stop merges
 * across the cut, so the piecewise count does not fall below the whole
 * count either. The estimate is therefore an upper bound, exact for every
 * ordinary prompt, and costs O(length) with a constant ceiling on tokenizer
 * work (docs/architecture.md, "Worst-case cost per message").
 */

type Encoding = { readonly countTokens: (text: string) => number };

/** Bytes of prompt text counted exactly by the tokenizer; the rest is bounded by its byte length. */
export const EXACT_BYTES_MAX = 4096;
/** The longest piece handed to the tokenizer in one call; keeps the quadratic merge loop on short inputs. */
export const PIECE_CHARS_MAX = 64;
/** The most UTF-8 bytes in one piece. */
export const PIECE_BYTES_MAX = 64;
/**
 * Budget charged per tokenizer call however short the piece: a call has a fixed cost of a few
 * microseconds, so a prompt of 30,000 one-letter messages must not buy 30,000 calls.
 */
const CALL_COST_BYTES = 32;

const CL100K_MODELS = /^(gpt-3\.5|gpt-4(-turbo|-\d{4}|-32k)?$|gpt-4-turbo|gpt-4-\d)/;

const encodingFor = (model: string): Encoding => (CL100K_MODELS.test(model) ? cl100k : o200k);

// The encodings build their rank tables on first use (tens of milliseconds): done at start-up, not
// inside the first request, which would otherwise stall every other client once.
cl100k.countTokens('warm up');
o200k.countTokens('warm up');

const isWhitespace = (code: number): boolean => code === 0x20 || (code >= 0x09 && code <= 0x0d);
/**
 * A space or tab, the only places a cut is free: the pre-tokenizers of both
 * encodings end no token on a space or tab (a run of them becomes its own
 * token or joins the word after it), whereas a line break may belong to the
 * punctuation before it (`.\n` is one token in both).
 */
const isBlank = (code: number): boolean => code === 0x20 || code === 0x09;
const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** UTF-8 bytes of the UTF-16 unit at `i` (a surrogate half counts 2: a pair is 4 bytes). */
const unitBytes = (code: number): number => (code < 0x80 ? 1 : code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 2 : 3);

/**
 * Where the piece starting at `start` ends: at most `PIECE_CHARS_MAX` units
 * and `PIECE_BYTES_MAX` UTF-8 bytes (the merge loop is quadratic in bytes, and
 * one CJK character is three), cut before the last space or tab that follows
 * a non-blank in the window when there is one (the encodings attach a space to
 * the word after it, so cutting there changes nothing), otherwise a hard cut
 * that never splits a surrogate pair.
 */
const pieceEnd = (text: string, start: number): number => {
  let limit = start;
  let bytes = 0;
  while (limit < text.length && limit - start < PIECE_CHARS_MAX) {
    bytes += unitBytes(text.charCodeAt(limit));
    if (bytes > PIECE_BYTES_MAX && limit > start) break;
    limit += 1;
  }
  if (limit >= text.length) return text.length;
  for (let i = limit; i > start + 1; i -= 1) if (isBlank(text.charCodeAt(i)) && !isWhitespace(text.charCodeAt(i - 1))) return i;
  return isHighSurrogate(text.charCodeAt(limit - 1)) ? limit + 1 : limit;
};

/** Tokens of `text` with at most `budgetBytes` of it counted exactly; returns the count and the budget left. */
const boundedCount = (enc: Encoding, text: string, budgetBytes: number): { tokens: number; budgetLeft: number } => {
  let tokens = 0;
  let budget = budgetBytes;
  let start = 0;
  while (start < text.length && budget > 0) {
    const end = pieceEnd(text, start);
    const piece = text.slice(start, end);
    tokens += enc.countTokens(piece);
    budget -= Math.max(CALL_COST_BYTES, Buffer.byteLength(piece, 'utf8'));
    start = end;
  }
  if (start < text.length) tokens += Buffer.byteLength(start === 0 ? text : text.slice(start), 'utf8');
  return { tokens, budgetLeft: Math.max(0, budget) };
};

/** Tokens of a plain text (an answer, a chunk) as the model's encoding counts them, under the work limit. */
export const countTextTokens = (model: string, text: string): number =>
  text.length === 0 ? 0 : boundedCount(encodingFor(model), text, EXACT_BYTES_MAX).tokens;

/**
 * A running count of a streamed answer's tokens, fed chunk by chunk.
 *
 * Unlike `countTextTokens` (a prompt-sized budget, then one token per byte)
 * it counts every piece exactly: an answer's length is bounded by the
 * request's max tokens, and the byte bound past 4 KiB would count a long
 * answer three to four times over (an 18,000-character English answer of
 * 4,001 tokens counted 14,778) and overcharge it when used as the floor under
 * the provider's own report. The work stays linear: pieces are at most
 * `PIECE_CHARS_MAX` long, as in `boundedCount`.
 *
 * A piece is counted as soon as the text after it is long enough that its
 * cut cannot move (`pieceEnd` looks at most `PIECE_CHARS_MAX + 1` units
 * ahead), so the pieces, and the total, are the same however the text was
 * chunked, and the same as counting the whole text in one go. `total` counts
 * the short unfinished tail on demand. Feeding a chunk costs its own share of
 * the work, never a recount of what came before.
 */
export type TextTokenCounter = {
  readonly add: (text: string) => void;
  readonly total: () => number;
};

export const makeTextTokenCounter = (model: string): TextTokenCounter => {
  const enc = encodingFor(model);
  let counted = 0;
  let tail = '';
  return {
    add: (text) => {
      if (text.length === 0) return;
      tail += text;
      let start = 0;
      while (tail.length - start > PIECE_CHARS_MAX + 1) {
        const end = pieceEnd(tail, start);
        counted += enc.countTokens(tail.slice(start, end));
        start = end;
      }
      if (start > 0) tail = tail.slice(start);
    },
    total: () => (tail.length === 0 ? counted : counted + boundedCount(enc, tail, Infinity).tokens),
  };
};

/** Every token of `text`, counted piece by piece with no budget: what a `TextTokenCounter` fed all of it gives. */
export const countStreamedTokens = (model: string, text: string): number => {
  const counter = makeTextTokenCounter(model);
  counter.add(text);
  return counter.total();
};

/** The cheapest upper bound on a prompt's tokens: UTF-8 bytes plus the framing below. No tokenizer call. */
export const chatTokensUpperBound = (messages: readonly ChatMessage[]): number => {
  let total = 3;
  for (const m of messages) total += 3 + Buffer.byteLength(m.role, 'utf8') + Buffer.byteLength(m.content, 'utf8');
  return total;
};

/**
 * Tokens of a chat prompt using OpenAI's documented framing: every message
 * costs its role and content plus 3 framing tokens, and the reply is primed
 * with 3 more. This matches `prompt_tokens` for the chat models in the table
 * for prompts within the exact budget, and is an upper bound beyond it.
 */
export const countChatTokens = (model: string, messages: readonly ChatMessage[]): number => {
  const enc = encodingFor(model);
  const roleTokens = new Map<string, number>();
  let total = 3;
  let budget = EXACT_BYTES_MAX;
  for (const m of messages) {
    let role = roleTokens.get(m.role);
    if (role === undefined) {
      role = enc.countTokens(m.role);
      roleTokens.set(m.role, role);
    }
    total += 3 + role;
    if (m.content.length === 0) continue;
    if (budget === 0) {
      total += Buffer.byteLength(m.content, 'utf8');
      continue;
    }
    const counted = boundedCount(enc, m.content, budget);
    total += counted.tokens;
    budget = counted.budgetLeft;
  }
  return total;
};
