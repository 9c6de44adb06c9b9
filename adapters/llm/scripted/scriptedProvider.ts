import type {
  ChatRequest,
  LlmProvider,
  LlmStream,
  ProviderName,
  StreamItem,
  Usage,
} from '../../../application/ports/llmProvider.js';
import { llmFailure } from '../../../application/ports/llmProvider.js';
import { llmError } from '../llmErrors.js';
import { countChatTokens, countStreamedTokens } from '../tokenizer.js';

/**
 * The built-in stand-in for a provider when no API key is configured (and
 * for demos and tests): deterministic text derived from the prompt, counted
 * with the same real tokenizer as the estimates, streamed word by word with a
 * configurable delay. It never calls the network and always reports
 * `kind: 'scripted'`, so /health and the logs show it is not a real model.
 */

export type ScriptedProviderOptions = {
  readonly name: ProviderName;
  readonly models: () => readonly string[];
  /** Delay before the first chunk (a model's time to first token). */
  readonly firstChunkDelayMs?: number;
  /** Delay between chunks. */
  readonly chunkDelayMs?: number;
};

const VOCABULARY = [
  'ledger', 'credit', 'stream', 'token', 'model', 'answer', 'careful', 'simple', 'quiet', 'river', 'stone', 'light',
  'garden', 'window', 'number', 'signal', 'bridge', 'cloud', 'paper', 'engine', 'market', 'winter', 'summer', 'green',
  'measure', 'balance', 'promise', 'record', 'history', 'account', 'steady', 'bright', 'little', 'honest', 'open', 'clear',
];

/** FNV-1a: a stable 32-bit hash of the prompt, so equal prompts give equal answers. */
const fnv1a = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
};

/** A small deterministic generator (mulberry32) seeded by the prompt hash. */
const prng = (seed: number) => {
  let a = seed;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
};

/** The words of the scripted answer: a fixed opening, then 12 to 51 words chosen from the prompt's hash. */
export const scriptedWords = (name: ProviderName, req: ChatRequest): readonly string[] => {
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const next = prng(fnv1a(`${req.model}\n${lastUser}`));
  const count = 12 + Math.floor(next() * 40);
  const words = ['Scripted', ' reply', ` from ${name}/${req.model}:`];
  for (let i = 0; i < count; i += 1) words.push(` ${VOCABULARY[Math.floor(next() * VOCABULARY.length)] ?? 'token'}`);
  words.push('.');
  return words;
};

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export const makeScriptedProvider = (options: ScriptedProviderOptions): LlmProvider => {
  const { name } = options;
  let inFlight = 0;
  const estimateInputTokens = (req: ChatRequest) => countChatTokens(req.model, req.messages);

  const stream = (req: ChatRequest, signal: AbortSignal): LlmStream => {
    let text = '';
    let opened = false;
    // Estimated once per stream: usageSoFar is called for every progress record and on every abort.
    let inputTokens: number | undefined;
    const usageSoFar = (): Usage =>
      opened ? { inputTokens: (inputTokens ??= estimateInputTokens(req)), outputTokens: countStreamedTokens(req.model, text) } : { inputTokens: 0, outputTokens: 0 };
    const aborted = () => llmFailure(llmError('Aborted', name, 'the request was aborted', false, text.length > 0 ? { partialUsage: usageSoFar() } : {}));

    async function* run(): AsyncGenerator<StreamItem> {
      if (!options.models().includes(req.model)) {
        throw llmFailure(llmError('UnknownModel', name, `model ${req.model} is not served by ${name}`, false));
      }
      inFlight += 1;
      let counted = true;
      const leave = () => {
        if (!counted) return;
        counted = false;
        signal.removeEventListener('abort', leave);
        inFlight -= 1;
      };
      signal.addEventListener('abort', leave, { once: true });
      try {
        opened = true;
        await sleep(options.firstChunkDelayMs ?? 0, signal);
        for (const [i, word] of scriptedWords(name, req).entries()) {
          if (signal.aborted) throw aborted();
          // Stop where the next word would pass max_tokens, as a real model would.
          if (countStreamedTokens(req.model, text + word) > req.maxTokens) break;
          if (i > 0) await sleep(options.chunkDelayMs ?? 0, signal);
          if (signal.aborted) throw aborted();
          text += word;
          yield { type: 'chunk', text: word };
        }
        yield { type: 'usage', usage: usageSoFar() };
      } finally {
        leave();
      }
    }

    let started = false;
    return {
      usageSoFar,
      [Symbol.asyncIterator]: () => {
        if (started) throw new Error('an LlmStream can be iterated only once');
        started = true;
        return run();
      },
    };
  };

  return {
    name,
    kind: 'scripted',
    models: options.models,
    estimateInputTokens,
    stream,
    available: () => true,
    inFlight: () => inFlight,
  };
};
