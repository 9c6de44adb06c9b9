import type {
  ChatRequest,
  LlmError,
  LlmProvider,
  LlmStream,
  ProviderName,
  StreamItem,
  Usage,
} from '../../application/ports/llmProvider.js';
import { llmErrorOf, llmFailure } from '../../application/ports/llmProvider.js';
import type { CutReason } from './llmErrors.js';
import { cutError, llmError } from './llmErrors.js';
import type { Resilience, ResilienceOptions } from './resilience.js';
import { countChatTokens, makeTextTokenCounter } from './tokenizer.js';

/**
 * What every SDK-backed provider shares: the stream life cycle, timeouts,
 * retries before the first chunk, and usage accounting. An adapter supplies
 * only `openWire` (call its SDK, translate its events into WireEvents) and
 * `classify` (its SDK's errors).
 *
 * Usage rule: the final `usage` item carries the provider's numbers. When the
 * provider gave none (a stream that broke or was aborted, a server that sent
 * no usage), input is the provider's count if it sent one (Anthropic does at
 * message_start) else the tokenizer's count of the prompt, and output is the
 * tokenizer's count of all text received so far.
 */

export type WireEvent =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'usage'; readonly inputTokens?: number; readonly outputTokens?: number }
  /** The provider said the answer is complete (finish_reason / message_stop). */
  | { readonly type: 'finish' };

export type OpenWire = (req: ChatRequest, signal: AbortSignal) => Promise<AsyncIterable<WireEvent>>;

export type SdkProviderConfig = {
  readonly name: ProviderName;
  readonly models: () => readonly string[];
  readonly openWire: OpenWire;
  readonly classify: (thrown: unknown) => LlmError;
  readonly resilience: Resilience;
  readonly timeouts: Pick<ResilienceOptions, 'connectTimeoutMs' | 'firstChunkTimeoutMs' | 'idleTimeoutMs'>;
};

type Tally = { text: string; inputTokens?: number; outputTokens?: number; finished: boolean };

/**
 * One try at a request: its abort controller, the reason it was cut, and one
 * deadline at a time. Re-arming only moves the deadline; the single timer
 * notices a moved deadline when it fires and sleeps again, so a stream of
 * thousands of chunks does not create and clear a timer per chunk.
 */
const makeCutter = (signal: AbortSignal) => {
  const controller = new AbortController();
  let reason: CutReason | undefined;
  let why: CutReason = 'connectTimeout';
  let timeoutMs = 0;
  let deadline = Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cut = (because: CutReason) => {
    if (reason === undefined) reason = because;
    controller.abort();
  };
  const check = () => {
    timer = undefined;
    if (deadline === Infinity) return;
    const left = deadline - Date.now();
    if (left <= 0) cut(why);
    else timer = setTimeout(check, left);
  };
  const onAbort = () => cut('aborted');
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    reason: () => reason,
    timeoutMs: () => timeoutMs,
    arm: (because: CutReason, ms: number) => {
      why = because;
      timeoutMs = ms;
      deadline = Date.now() + ms;
      if (timer === undefined) timer = setTimeout(check, ms);
    },
    disarm: () => {
      deadline = Infinity;
    },
    /** Ends the try; `completed` (the stream was read to its end) skips aborting a request that is already over. */
    close: (completed = false) => {
      deadline = Infinity;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      signal.removeEventListener('abort', onAbort);
      if (!completed) controller.abort();
    },
  };
};
type Cutter = ReturnType<typeof makeCutter>;

/** Folds one wire event into the tally; returns the item to hand out, if any. */
const apply = (tally: Tally, ev: WireEvent): StreamItem | undefined => {
  switch (ev.type) {
    case 'text':
      if (ev.text.length === 0) return undefined;
      tally.text += ev.text;
      return { type: 'chunk', text: ev.text };
    case 'usage':
      if (ev.inputTokens !== undefined) tally.inputTokens = ev.inputTokens;
      if (ev.outputTokens !== undefined) tally.outputTokens = ev.outputTokens;
      return undefined;
    case 'finish':
      tally.finished = true;
      return undefined;
  }
};

type Opened = { cutter: Cutter; it: AsyncIterator<WireEvent>; tally: Tally; first: StreamItem | undefined };

const estimateInputTokens = (req: ChatRequest) => countChatTokens(req.model, req.messages);

const asFailure = (cfg: SdkProviderConfig, e: unknown): unknown => (llmErrorOf(e) !== undefined ? e : llmFailure(cfg.classify(e), e));

const cutFailure = (cfg: SdkProviderConfig, cutter: Cutter, reason: CutReason, cause?: unknown) =>
  llmFailure(cutError(cfg.name, reason, cutter.timeoutMs()), cause);

/** Reads one event under a deadline; turns cuts and SDK errors into LlmFailures. */
const readEvent = async (cfg: SdkProviderConfig, cutter: Cutter, it: AsyncIterator<WireEvent>, why: CutReason, ms: number) => {
  cutter.arm(why, ms);
  try {
    const r = await it.next();
    const reason = cutter.reason();
    // The SDKs end a stream quietly when it is aborted, so check who cut it.
    if (reason !== undefined) throw cutFailure(cfg, cutter, reason);
    return r;
  } catch (e) {
    const reason = cutter.reason();
    throw reason !== undefined ? cutFailure(cfg, cutter, reason, e) : asFailure(cfg, e);
  } finally {
    cutter.disarm();
  }
};

/** One try: send the request and wait for its first item. Runs under retry and breaker. */
const openOnce = async (cfg: SdkProviderConfig, req: ChatRequest, signal: AbortSignal): Promise<Opened> => {
  const cutter = makeCutter(signal);
  const tally: Tally = { text: '', finished: false };
  try {
    cutter.arm('connectTimeout', cfg.timeouts.connectTimeoutMs);
    let iterable: AsyncIterable<WireEvent>;
    try {
      iterable = await cfg.openWire(req, cutter.signal);
    } catch (e) {
      const reason = cutter.reason();
      throw reason !== undefined ? cutFailure(cfg, cutter, reason, e) : asFailure(cfg, e);
    }
    const it = iterable[Symbol.asyncIterator]();
    for (;;) {
      const r = await readEvent(cfg, cutter, it, 'firstChunkTimeout', cfg.timeouts.firstChunkTimeoutMs);
      if (r.done === true) {
        if (tally.finished) return { cutter, it, tally, first: undefined };
        throw llmFailure(llmError('ProviderUnavailable', cfg.name, 'stream ended before any output', true));
      }
      const first = apply(tally, r.value);
      if (first !== undefined) return { cutter, it, tally, first };
    }
  } catch (e) {
    cutter.close();
    throw e;
  }
};

/**
 * Takes a slot of the provider's bulkhead. An abort gives it back at once,
 * even if nobody iterates the stream again (the same abort closes its HTTP
 * request); the returned release is safe to call more than once.
 */
const holdSlot = async (resilience: Resilience, signal: AbortSignal): Promise<() => void> => {
  const permit = await resilience.acquire(signal);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    signal.removeEventListener('abort', release);
    permit();
  };
  signal.addEventListener('abort', release, { once: true });
  return release;
};

const makeStream = (cfg: SdkProviderConfig, req: ChatRequest, signal: AbortSignal): LlmStream => {
  const { name, resilience } = cfg;
  let tally: Tally | undefined;
  // Our own counts, made only when the provider gave none, and each piece of text counted once
  // however often usageSoFar is asked (every progress record, every abort).
  let estimatedInput: number | undefined;
  const output = makeTextTokenCounter(req.model);
  let countedChars = 0;
  const ownOutputCount = (text: string): number => {
    if (countedChars < text.length) {
      output.add(text.slice(countedChars));
      countedChars = text.length;
    }
    return output.total();
  };
  const usageSoFar = (): Usage =>
    tally === undefined
      ? { inputTokens: 0, outputTokens: 0 }
      : {
          inputTokens: tally.inputTokens ?? (estimatedInput ??= estimateInputTokens(req)),
          outputTokens: tally.outputTokens ?? ownOutputCount(tally.text),
        };
  const midStream = (e: unknown): Error => {
    const llm = llmErrorOf(e) ?? cfg.classify(e);
    resilience.recordFailure(llm);
    return llmFailure({ ...llm, partialUsage: usageSoFar() }, e);
  };

  async function* run(): AsyncGenerator<StreamItem> {
    if (!cfg.models().includes(req.model)) {
      throw llmFailure(llmError('UnknownModel', name, `model ${req.model} is not served by ${name}`, false));
    }
    const release = await holdSlot(resilience, signal);
    let opened: Opened | undefined;
    let completed = false;
    try {
      opened = await resilience.run(() => openOnce(cfg, req, signal), signal);
      tally = opened.tally;
      if (opened.first !== undefined) yield opened.first;
      for (;;) {
        let r: IteratorResult<WireEvent>;
        try {
          r = await readEvent(cfg, opened.cutter, opened.it, 'idleTimeout', cfg.timeouts.idleTimeoutMs);
        } catch (e) {
          throw midStream(e);
        }
        if (r.done === true) {
          completed = true;
          break;
        }
        const item = apply(tally, r.value);
        if (item !== undefined) yield item;
      }
      if (!tally.finished) {
        throw midStream(llmFailure(llmError('ProviderUnavailable', name, 'stream ended before the provider finished', true)));
      }
      resilience.recordSuccess();
      yield { type: 'usage', usage: usageSoFar() };
    } finally {
      // Closing aborts the HTTP request if it is still open: a consumer that
      // stops iterating must not leave the provider generating for nobody.
      opened?.cutter.close(completed);
      release();
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

export const makeSdkProvider = (cfg: SdkProviderConfig): LlmProvider => ({
  name: cfg.name,
  kind: 'real',
  models: cfg.models,
  estimateInputTokens,
  stream: (req, signal) => makeStream(cfg, req, signal),
  available: cfg.resilience.available,
  inFlight: cfg.resilience.inFlight,
});
