import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { chunkFrames } from '../../../adapters/http/compat/openai.js';

describe('chunkFrames (OpenAI-compatible SSE)', () => {
  it('a content frame is byte for byte the generic frame of the same delta, for any text, id and model, with or without usage', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), fc.string(), fc.nat(), fc.boolean(), (text, id, model, created, withUsage) => {
        const { frame, content } = chunkFrames({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: null }, withUsage);
        expect(content(text)).toBe(frame({ content: text }, null));
      }),
      { numRuns: 500 },
    );
  });

  it('is one SSE event whose JSON is the chunk OpenAI sends', () => {
    const { content } = chunkFrames({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 7, model: 'gpt-4o-mini', system_fingerprint: null }, true);
    const event = content('Hi "there"\n');
    expect(event.startsWith('data: ') && event.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(event.slice(6))).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 7,
      model: 'gpt-4o-mini',
      system_fingerprint: null,
      choices: [{ index: 0, delta: { content: 'Hi "there"\n' }, logprobs: null, finish_reason: null }],
      usage: null,
    });
  });
});
