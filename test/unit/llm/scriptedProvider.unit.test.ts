import { describe, expect, it } from '@jest/globals';
import type { StreamItem } from '../../../application/ports/llmProvider.js';
import { llmErrorOf } from '../../../application/ports/llmProvider.js';
import { makeScriptedProvider } from '../../../adapters/llm/scripted/scriptedProvider.js';
import { countChatTokens, countTextTokens } from '../../../adapters/llm/tokenizer.js';

const provider = (chunkDelayMs = 0) =>
  makeScriptedProvider({ name: 'claude', models: () => ['claude-sonnet-4-0', 'claude-3-haiku-20240307'], chunkDelayMs });
const req = (content: string, maxTokens = 500) => ({
  model: 'claude-sonnet-4-0',
  messages: [
    { role: 'system' as const, content: 'Be nice.' },
    { role: 'user' as const, content },
  ],
  maxTokens,
});

const run = async (items: AsyncIterable<StreamItem>) => {
  let text = '';
  let usage;
  for await (const item of items) {
    if (item.type === 'chunk') text += item.text;
    else usage = item.usage;
  }
  return { text, usage };
};

describe('scripted provider', () => {
  it('says it is scripted', () => {
    expect(provider().kind).toBe('scripted');
    expect(provider().name).toBe('claude');
  });

  it('answers deterministically from the prompt, differently for different prompts', async () => {
    const a1 = await run(provider().stream(req('What is a ledger?'), new AbortController().signal));
    const a2 = await run(provider().stream(req('What is a ledger?'), new AbortController().signal));
    const b = await run(provider().stream(req('Something else entirely'), new AbortController().signal));
    expect(a1.text).toBe(a2.text);
    expect(a1.text).not.toBe(b.text);
    expect(a1.text.startsWith('Scripted reply from claude/claude-sonnet-4-0:')).toBe(true);
  });

  it('reports usage counted with the real tokenizer', async () => {
    const r = req('Count me.');
    const { text, usage } = await run(provider().stream(r, new AbortController().signal));
    expect(usage).toEqual({ inputTokens: countChatTokens(r.model, r.messages), outputTokens: countTextTokens(r.model, text) });
    expect(provider().estimateInputTokens(r)).toBe(usage?.inputTokens);
  });

  it('never writes more than max_tokens', async () => {
    for (const maxTokens of [1, 3, 10]) {
      const { text, usage } = await run(provider().stream(req('Short please', maxTokens), new AbortController().signal));
      expect(usage?.outputTokens).toBeLessThanOrEqual(maxTokens);
      expect(countTextTokens('claude-sonnet-4-0', text)).toBe(usage?.outputTokens);
    }
  });

  it('waits between chunks and stops on abort with what it produced', async () => {
    const p = provider(15);
    const controller = new AbortController();
    const stream = p.stream(req('Slowly'), controller.signal);
    const started = Date.now();
    let text = '';
    let error: unknown;
    try {
      for await (const item of stream) {
        if (item.type === 'chunk') text += item.text;
        if (text.length > 0 && Date.now() - started >= 40) controller.abort();
      }
    } catch (e) {
      error = e;
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(llmErrorOf(error)).toMatchObject({ _tag: 'Aborted', partialUsage: { outputTokens: countTextTokens('claude-sonnet-4-0', text) } });
    expect(stream.usageSoFar().outputTokens).toBe(countTextTokens('claude-sonnet-4-0', text));
    expect(p.inFlight()).toBe(0);
  });

  it('refuses models it does not serve', async () => {
    await expect(run(provider().stream({ ...req('x'), model: 'gpt-4o' }, new AbortController().signal))).rejects.toMatchObject({
      llm: { _tag: 'UnknownModel' },
    });
  });
});
