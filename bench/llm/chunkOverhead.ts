import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ChatRequest, LlmProvider } from '../../application/ports/llmProvider.js';
import { anthropicRequestBody, makeAnthropicProvider } from '../../adapters/llm/anthropic/anthropicProvider.js';
import { makeOpenAiProvider, openAiRequestBody } from '../../adapters/llm/openai/openaiProvider.js';
import { DEFAULT_RESILIENCE } from '../../adapters/llm/resilience.js';
import { numberArg } from '../shared.js';

/**
 * Adapter overhead per chunk: the same fixture stream read three ways,
 *   plain   - node:http, split on blank lines, JSON.parse each event (the floor),
 *   sdk     - the provider's SDK iterated directly (what the SDK itself costs),
 *   adapter - our LlmProvider.stream (SDK + decoding + timers + usage accounting).
 * The fixture servers run on a worker thread. Runs are interleaved and the
 * medians printed; the last line is JSON for docs/benchmarks.md.
 *
 * Run: node --import ./test/support/swcRegister.mjs bench/llm/chunkOverhead.ts [--chunks 2000] [--runs 15]
 * (or import `runChunkOverhead` from a bench runner).
 */

const arg = numberArg;
const WARMUP = 3;

type Sample = { totalMs: number; firstMs: number; chunks: number };
type Reader = () => Promise<Sample>;

const agent = new Agent({ keepAlive: true });

/** The floor: read the SSE stream with node:http and parse each event's JSON. */
const plainReader = (url: string, body: unknown, textOf: (ev: unknown) => string | undefined): Reader => async () => {
  const started = performance.now();
  let firstMs = 0;
  let chunks = 0;
  const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } });
  req.end(JSON.stringify(body));
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let buffer = '';
  for await (const part of res) {
    buffer += (part as Buffer).toString('utf8');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
      if (data !== undefined && data !== '[DONE]' && textOf(JSON.parse(data)) !== undefined) {
        if (chunks === 0) firstMs = performance.now() - started;
        chunks += 1;
      }
      end = buffer.indexOf('\n\n');
    }
  }
  return { totalMs: performance.now() - started, firstMs, chunks };
};

const timeIterable = async (open: () => Promise<AsyncIterable<unknown>>, isText: (item: unknown) => boolean): Promise<Sample> => {
  const started = performance.now();
  let firstMs = 0;
  let chunks = 0;
  for await (const item of await open()) {
    if (!isText(item)) continue;
    if (chunks === 0) firstMs = performance.now() - started;
    chunks += 1;
  }
  return { totalMs: performance.now() - started, firstMs, chunks };
};

const adapterReader = (provider: LlmProvider, req: ChatRequest): Reader => () =>
  timeIterable(async () => provider.stream(req, new AbortController().signal), (i) => (i as { type: string }).type === 'chunk');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

type Settings = { readonly chunks: number; readonly runs: number };

const measure = async ({ chunks: expected, runs }: Settings, readers: Record<string, Reader>) => {
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(readers).map((k) => [k, []]));
  for (let run = 0; run < WARMUP + runs; run += 1) {
    for (const [name, read] of Object.entries(readers)) {
      const s = await read();
      if (s.chunks !== expected) throw new Error(`${name}: read ${s.chunks} chunks, expected ${expected}`);
      if (run >= WARMUP) samples[name]?.push(s);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, ss]) => [
      name,
      {
        // From the first chunk to the end: the fixture writes its whole answer
        // at once, so time to first chunk measures the fixture, not the client.
        perChunkUs: median(ss.map((s) => ((s.totalMs - s.firstMs) * 1000) / (s.chunks - 1))),
        firstChunkMs: median(ss.map((s) => s.firstMs)),
      },
    ]),
  );
};

export type ChunkOverheadResult = {
  readonly chunks: number;
  readonly runs: number;
  readonly node: string;
  readonly openai: Record<string, { perChunkUs: number; firstChunkMs: number }>;
  readonly claude: Record<string, { perChunkUs: number; firstChunkMs: number }>;
};

export const runChunkOverhead = async (settings: Settings = { chunks: 2000, runs: 15 }): Promise<ChunkOverheadResult> => {
  // From source (swc loader) the worker is a .ts file, from dist a .js one.
  const workerFile = import.meta.url.endsWith('.ts') ? './fixtureWorker.ts' : './fixtureWorker.js';
  const worker = new Worker(new URL(workerFile, import.meta.url), { workerData: { chunks: settings.chunks } });
  const [urls] = (await once(worker, 'message')) as [{ openai: string; claude: string }];
  const options = { ...DEFAULT_RESILIENCE, connectTimeoutMs: 10_000, firstChunkTimeoutMs: 10_000, idleTimeoutMs: 10_000 };

  const oaReq: ChatRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'bench' }], maxTokens: 100_000 };
  const oaBody = openAiRequestBody(oaReq);
  const oaSdk = new OpenAI({ apiKey: 'bench', baseURL: urls.openai, maxRetries: 0 });
  const openai = await measure(settings, {
    plain: plainReader(`${urls.openai}/chat/completions`, oaBody, (ev) => (ev as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content || undefined),
    sdk: () =>
      timeIterable(
        () => oaSdk.chat.completions.create(oaBody),
        (c) => Boolean((c as { choices: { delta?: { content?: string | null } }[] }).choices[0]?.delta?.content),
      ),
    adapter: adapterReader(makeOpenAiProvider({ apiKey: 'bench', baseURL: urls.openai, models: () => [oaReq.model], resilience: options }), oaReq),
  });

  const clReq: ChatRequest = { model: 'claude-sonnet-4-0', messages: [{ role: 'user', content: 'bench' }], maxTokens: 64_000 };
  const clBody = anthropicRequestBody(clReq);
  const clSdk = new Anthropic({ apiKey: 'bench', baseURL: urls.claude, maxRetries: 0 });
  const claude = await measure(settings, {
    plain: plainReader(`${urls.claude}/v1/messages`, clBody, (ev) => ((ev as { type: string }).type === 'content_block_delta' ? 'text' : undefined)),
    sdk: () => timeIterable(() => clSdk.messages.create(clBody), (e) => (e as { type: string }).type === 'content_block_delta'),
    adapter: adapterReader(makeAnthropicProvider({ apiKey: 'bench', baseURL: urls.claude, models: () => [clReq.model], resilience: options }), clReq),
  });

  worker.postMessage('close');
  agent.destroy();
  return { ...settings, node: process.version, openai, claude };
};

const print = (results: ChunkOverheadResult) => {
  for (const [provider, r] of [['openai', results.openai], ['claude', results.claude]] as const) {
    const plain = r['plain']?.perChunkUs ?? 0;
    for (const [name, v] of Object.entries(r)) {
      console.log(
        `${provider.padEnd(7)} ${name.padEnd(8)} ${v.perChunkUs.toFixed(2).padStart(7)} us/chunk  (+${(v.perChunkUs - plain).toFixed(2)} vs plain)  first chunk ${v.firstChunkMs.toFixed(2)} ms`,
      );
    }
  }
  console.log(JSON.stringify(results));
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  print(await runChunkOverhead({ chunks: arg('chunks', 2000), runs: arg('runs', 15) }));
}
