import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as o200k from 'gpt-tokenizer/encoding/o200k_base';
import { countStreamedTokens, countTextTokens, EXACT_BYTES_MAX, makeTextTokenCounter } from '../../../adapters/llm/tokenizer.js';

/** The running count of a streamed answer (the floor under a provider's reported output, and partial usage). */

const prose = (n: number) =>
  Array.from({ length: n }, (_, i) => `Entry ${i}: the ledger held 1,250 credits; the stream's answer ran to "${'x'.repeat(i % 7)}".\n`).join('');

/** Cuts `text` at the given fractions, in order, into consecutive chunks. */
const chunked = (text: string, cuts: readonly number[]): string[] => {
  const at = [...new Set(cuts.map((c) => Math.floor(c * text.length)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const i of at) {
    out.push(text.slice(from, i));
    from = i;
  }
  out.push(text.slice(from));
  return out;
};

describe('a streamed answer\'s token count', () => {
  it('is exact for ordinary text of any length, where the prompt budget counted a byte per token past 4 KiB', () => {
    const text = prose(400);
    expect(Buffer.byteLength(text)).toBeGreaterThan(5 * EXACT_BYTES_MAX);
    expect(countStreamedTokens('gpt-4o', text)).toBe(o200k.countTokens(text));
    expect(countStreamedTokens('gpt-4', text)).toBe(cl100k.countTokens(text));
    // What the floor used before: about three times the real count for this answer.
    expect(countTextTokens('gpt-4o', text)).toBeGreaterThan(2 * o200k.countTokens(text));
  });

  it('does not depend on how the text was chunked (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 600 }), fc.string({ unit: fc.constantFrom('a', ' ', '\n', '.', 'é', '\u4e00', '\u{1F600}', '7'), maxLength: 600 })),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
        (text, cuts) => {
          const counter = makeTextTokenCounter('gpt-4o');
          for (const piece of chunked(text, cuts)) counter.add(piece);
          expect(counter.total()).toBe(countStreamedTokens('gpt-4o', text));
        },
      ),
      { seed: 17, numRuns: 300 },
    );
  });

  it('never falls below the tokenizer\'s count of the whole text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 2_000 }), (text) => {
        expect(countStreamedTokens('gpt-4o', text)).toBeGreaterThanOrEqual(text.length === 0 ? 0 : o200k.countTokens(text));
      }),
      { seed: 17, numRuns: 100 },
    );
  });

  it('can be asked for its total at any moment without recounting what came before', () => {
    const counter = makeTextTokenCounter('gpt-4o');
    const words = prose(50).split(/(?<= )/);
    let text = '';
    for (const word of words) {
      counter.add(word);
      text += word;
      expect(counter.total()).toBe(countStreamedTokens('gpt-4o', text));
    }
  });

  it('costs linear work on a hostile answer (one long run of one letter)', () => {
    const counter = makeTextTokenCounter('gpt-4o');
    const started = process.cpuUsage();
    for (let i = 0; i < 10_000; i++) counter.add('a'.repeat(50));
    const used = process.cpuUsage(started);
    expect(counter.total()).toBeGreaterThan(0);
    // About 25 ms on an idle core for 500,000 letters; unbounded BPE on one run took seconds for 200,000.
    expect((used.user + used.system) / 1000).toBeLessThan(1_500);
  });
});
