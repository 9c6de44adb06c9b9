import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { LlmError, LlmProvider, ProviderName, StreamItem } from '../../../application/ports/llmProvider.js';
import { llmFailure } from '../../../application/ports/llmProvider.js';
import { fallbackMapProblems } from '../../../adapters/llm/router/fallbackMap.js';
import type { LlmRouterOptions } from '../../../adapters/llm/router/llmRouter.js';
import { makeLlmRouter } from '../../../adapters/llm/router/llmRouter.js';
import { makeScriptedProvider } from '../../../adapters/llm/scripted/scriptedProvider.js';

/**
 * Router decisions with stand-in providers (swapped adapters, no network):
 * the scripted provider, and a small fake whose health and failures the test sets.
 */

type Fake = LlmProvider & { setAvailable: (v: boolean) => void; setInFlight: (n: number) => void; opened: () => number; closed: () => number };

const fake = (name: ProviderName, models: string[], behaviour: 'ok' | LlmError | { breakAfter: number } = 'ok'): Fake => {
  let available = true;
  let inFlight = 0;
  let opened = 0;
  let closed = 0;
  return {
    name,
    kind: 'real',
    models: () => models,
    estimateInputTokens: () => 10,
    available: () => available,
    inFlight: () => inFlight,
    setAvailable: (v) => (available = v),
    setInFlight: (n) => (inFlight = n),
    opened: () => opened,
    closed: () => closed,
    stream: () => {
      async function* run(): AsyncGenerator<StreamItem> {
        opened += 1;
        try {
          if (typeof behaviour === 'object' && '_tag' in behaviour) throw llmFailure(behaviour);
          for (let i = 0; i < 3; i += 1) {
            if (typeof behaviour === 'object' && 'breakAfter' in behaviour && i === behaviour.breakAfter) {
              throw llmFailure({ _tag: 'ProviderUnavailable', provider: name, message: 'broke', retryable: true });
            }
            yield { type: 'chunk', text: `${name}${i}` };
          }
          yield { type: 'usage', usage: { inputTokens: 10, outputTokens: 3 } };
        } finally {
          closed += 1;
        }
      }
      return { usageSoFar: () => ({ inputTokens: 10, outputTokens: 0 }), [Symbol.asyncIterator]: run };
    },
  };
};

const unavailable = (provider: ProviderName): LlmError => ({ _tag: 'ProviderUnavailable', provider, message: 'down', retryable: true });
const MAP = { 'gpt-4o': 'claude-sonnet-4-0', 'claude-sonnet-4-0': 'gpt-4o' };
const req = (model: string, maxTokens = 100) => ({ model, messages: [{ role: 'user' as const, content: 'hi' }], maxTokens });
const signal = () => new AbortController().signal;
const routerOf = (providers: LlmProvider[], extra: Partial<LlmRouterOptions> = {}) =>
  makeLlmRouter({ providers, fallbackMap: MAP, ...extra });
const planOf = (r: ReturnType<typeof routerOf>, model: string, pref: 'auto' | ProviderName) =>
  E.map((cs: readonly { provider: LlmProvider; request: { model: string } }[]) => cs.map((c) => `${c.provider.name}:${c.request.model}`))(
    r.plan(req(model), pref),
  );

describe('plan', () => {
  const openai = () => fake('openai', ['gpt-4o']);
  const claude = () => fake('claude', ['claude-sonnet-4-0']);

  it('auto prefers the native provider on a tie, the other on lower load or higher weight', () => {
    const o = openai();
    const c = claude();
    const r = routerOf([o, c]);
    expect(planOf(r, 'gpt-4o', 'auto')).toEqual(E.right(['openai:gpt-4o', 'claude:claude-sonnet-4-0']));
    o.setInFlight(3);
    expect(planOf(r, 'gpt-4o', 'auto')).toEqual(E.right(['claude:claude-sonnet-4-0', 'openai:gpt-4o']));
    o.setInFlight(0);
    expect(planOf(routerOf([o, c], { weights: { claude: 2 } }), 'gpt-4o', 'auto')).toEqual(
      E.right(['claude:claude-sonnet-4-0', 'openai:gpt-4o']),
    );
    expect(planOf(routerOf([o, c], { weights: { openai: 0 } }), 'gpt-4o', 'auto')).toEqual(
      E.right(['claude:claude-sonnet-4-0', 'openai:gpt-4o']),
    );
  });

  it('auto puts an unavailable provider last', () => {
    const o = openai();
    const r = routerOf([o, claude()]);
    o.setAvailable(false);
    expect(planOf(r, 'gpt-4o', 'auto')).toEqual(E.right(['claude:claude-sonnet-4-0', 'openai:gpt-4o']));
  });

  it('a named provider is tried alone unless fallback is allowed for named providers', () => {
    expect(planOf(routerOf([openai(), claude()]), 'gpt-4o', 'openai')).toEqual(E.right(['openai:gpt-4o']));
    expect(planOf(routerOf([openai(), claude()], { fallbackForExplicit: true }), 'gpt-4o', 'openai')).toEqual(
      E.right(['openai:gpt-4o', 'claude:claude-sonnet-4-0']),
    );
  });

  it('refuses unknown models and a model named with the wrong provider', () => {
    const r = routerOf([openai(), claude()]);
    expect(r.plan(req('gpt-5-ultra'), 'auto')).toEqual(E.left(expect.objectContaining({ _tag: 'UnknownModel' })));
    expect(r.plan(req('gpt-4o'), 'claude')).toEqual(
      E.left(expect.objectContaining({ _tag: 'UnknownModel', provider: 'claude', message: 'model gpt-4o is served by openai, not claude' })),
    );
  });

  it('keeps max_tokens within the fallback model limit', () => {
    const r = routerOf([openai(), claude()], { maxOutputTokensFor: (m) => (m === 'claude-sonnet-4-0' ? 50 : undefined) });
    const plan = r.plan(req('gpt-4o', 100), 'auto');
    expect(E.map((cs: readonly { request: { maxTokens: number } }[]) => cs.map((c) => c.request.maxTokens))(plan)).toEqual(E.right([100, 50]));
  });

  it('finds fallback map entries that cannot work', () => {
    expect(fallbackMapProblems({ 'gpt-4o': 'gpt-4o', x: 'gpt-4o', 'claude-sonnet-4-0': 'nope' }, [openai(), claude()])).toEqual([
      'gpt-4o -> gpt-4o: both are served by openai; a fallback must change provider',
      'x: no provider serves this model',
      'claude-sonnet-4-0 -> nope: no provider serves nope',
    ]);
  });
});

describe('open', () => {
  it('resolves with the first item already read and hands the rest through', async () => {
    const o = fake('openai', ['gpt-4o']);
    const opened = await routerOf([o, fake('claude', ['claude-sonnet-4-0'])]).open(req('gpt-4o'), 'auto', signal());
    expect(opened).toMatchObject({ provider: 'openai', model: 'gpt-4o', failed: [] });
    const items: StreamItem[] = [];
    for await (const item of opened.items) items.push(item);
    expect(items.map((i) => (i.type === 'chunk' ? i.text : 'usage'))).toEqual(['openai0', 'openai1', 'openai2', 'usage']);
  });

  it('falls back on unavailability before the first item, not after', async () => {
    const c = fake('claude', ['claude-sonnet-4-0']);
    const r1 = routerOf([fake('openai', ['gpt-4o'], unavailable('openai')), c]);
    expect((await r1.open(req('gpt-4o'), 'auto', signal())).provider).toBe('claude');

    const c2 = fake('claude', ['claude-sonnet-4-0']);
    const opened = await routerOf([fake('openai', ['gpt-4o'], { breakAfter: 1 }), c2]).open(req('gpt-4o'), 'auto', signal());
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const item of opened.items) if (item.type === 'chunk') seen.push(item.text);
      })(),
    ).rejects.toMatchObject({ llm: { _tag: 'ProviderUnavailable' } });
    expect(seen).toEqual(['openai0']);
    expect(c2.opened()).toBe(0);
  });

  it('does not fall back on errors that another provider would not fix', async () => {
    const c = fake('claude', ['claude-sonnet-4-0']);
    const bad: LlmError = { _tag: 'ProviderError', provider: 'openai', message: 'bad request', retryable: false };
    await expect(routerOf([fake('openai', ['gpt-4o'], bad), c]).open(req('gpt-4o'), 'auto', signal())).rejects.toMatchObject({
      llm: bad,
    });
    expect(c.opened()).toBe(0);
  });

  it('throws the last error when every candidate failed, listing nothing as opened', async () => {
    const r = routerOf([fake('openai', ['gpt-4o'], unavailable('openai')), fake('claude', ['claude-sonnet-4-0'], unavailable('claude'))]);
    await expect(r.open(req('gpt-4o'), 'auto', signal())).rejects.toMatchObject({ llm: { provider: 'claude' } });
  });

  it('leaving the loop early closes the provider stream', async () => {
    const o = fake('openai', ['gpt-4o']);
    const opened = await routerOf([o]).open(req('gpt-4o'), 'openai', signal());
    for await (const item of opened.items) if (item.type === 'chunk') break;
    expect(o.closed()).toBe(1);
  });

  it('giving up before reading anything closes the provider stream too', async () => {
    const o = fake('openai', ['gpt-4o']);
    const opened = await routerOf([o]).open(req('gpt-4o'), 'openai', signal());
    await opened.items[Symbol.asyncIterator]().return?.();
    expect(o.closed()).toBe(1);
  });

  it('works over scripted providers and reports their kind', async () => {
    const models = (name: ProviderName) => () => (name === 'openai' ? ['gpt-4o'] : ['claude-sonnet-4-0']);
    const r = routerOf([
      makeScriptedProvider({ name: 'openai', models: models('openai') }),
      makeScriptedProvider({ name: 'claude', models: models('claude') }),
    ]);
    const opened = await r.open(req('claude-sonnet-4-0'), 'claude', signal());
    expect(opened).toMatchObject({ provider: 'claude', kind: 'scripted' });
    expect(r.status()).toEqual([
      { name: 'openai', kind: 'scripted', available: true, inFlight: 0, models: 1 },
      { name: 'claude', kind: 'scripted', available: true, inFlight: 1, models: 1 },
    ]);
    for await (const _ of opened.items) void _;
    expect(r.status()[1]?.inFlight).toBe(0);
  });
});
