import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { loadPriceSheetFile, makePriceSheetSource } from '../../../adapters/llm/priceSheetFile.js';
import type { LlmSetup } from '../../../adapters/llm/providersFromEnv.js';
import { makeProvidersFromEnv } from '../../../adapters/llm/providersFromEnv.js';
import type { SseFixture } from '../../support/anthropicFixture.js';
import { startAnthropicFixture } from '../../support/anthropicFixture.js';
import { startOpenAiFixture } from '../../support/openaiFixture.js';
import { ask, collect } from './llmTestKit.js';

/** The factory the composition root calls, and the price sheet file it reads. */

let dir: string;
let openaiFx: SseFixture;
let claudeFx: SseFixture;
const logs: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
const logger = {
  info: (obj: Record<string, unknown>, msg: string) => logs.push({ level: 'info', obj, msg }),
  warn: (obj: Record<string, unknown>, msg: string) => logs.push({ level: 'warn', obj, msg }),
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prices-'));
  [openaiFx, claudeFx] = await Promise.all([startOpenAiFixture(), startAnthropicFixture()]);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await Promise.all([openaiFx.close(), claudeFx.close()]);
});

const setupOrThrow = (env: Record<string, string>): LlmSetup => {
  const setup = makeProvidersFromEnv(env, logger, { scriptedChunkDelayMs: 0 });
  if (E.isLeft(setup)) throw new Error(`${setup.left.variable}: ${setup.left.message}`);
  return setup.right;
};

describe('price sheet file', () => {
  it('the shipped config/prices.json decodes', () => {
    const sheet = loadPriceSheetFile('config/prices.json');
    expect(E.isRight(sheet) && sheet.right.models['gpt-4o']?.provider).toBe('openai');
  });

  it('reports unreadable and invalid files, and reload keeps the last good sheet', () => {
    const path = join(dir, 'prices.json');
    expect(loadPriceSheetFile(path)).toEqual(E.left(expect.objectContaining({ _tag: 'PriceSheetUnreadable', path })));
    writeFileSync(path, readFileSync('config/prices.json'));
    const first = loadPriceSheetFile(path);
    if (E.isLeft(first)) throw new Error('expected a sheet');
    const source = makePriceSheetSource(path, first.right);
    writeFileSync(path, JSON.stringify({ ...first.right, version: 'v2' }));
    expect(E.isRight(source.reload())).toBe(true);
    expect(source.current().version).toBe('v2');
    writeFileSync(path, '{"version": 3}');
    expect(source.reload()).toEqual(E.left(expect.objectContaining({ _tag: 'PriceSheetInvalid' })));
    expect(source.current().version).toBe('v2');
  });
});

describe('makeProvidersFromEnv', () => {
  it('uses the scripted provider for each provider without a key, and says so', async () => {
    logs.length = 0;
    const setup = setupOrThrow({});
    expect(setup.providers.map((p) => [p.name, p.kind])).toEqual([
      ['openai', 'scripted'],
      ['claude', 'scripted'],
    ]);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'OPENAI_API_KEY is not set: openai is served by the scripted provider',
      'ANTHROPIC_API_KEY is not set: claude is served by the scripted provider',
    ]);
    const opened = await setup.router.open(ask('gpt-4o-mini'), 'auto', new AbortController().signal);
    expect(opened).toMatchObject({ provider: 'openai', kind: 'scripted' });
    expect((await collect(opened.items)).usage?.outputTokens).toBeGreaterThan(0);
  });

  it('uses the real SDK adapters at the configured base URLs when keys are set', async () => {
    const setup = setupOrThrow({
      OPENAI_API_KEY: 'sk-a',
      OPENAI_BASE_URL: openaiFx.baseURL,
      ANTHROPIC_API_KEY: 'sk-b',
      ANTHROPIC_BASE_URL: claudeFx.baseURL,
    });
    expect(setup.providers.map((p) => p.kind)).toEqual(['real', 'real']);
    expect(setup.providers[1]?.models()).toContain('claude-opus-4-0');
    const opened = await setup.router.open(ask('claude-3-haiku-20240307'), 'claude', new AbortController().signal);
    expect((await collect(opened.items)).error).toBeUndefined();
    expect(claudeFx.requests).toHaveLength(1);
    expect(JSON.stringify(logs)).not.toContain('sk-a');
  });

  it.each([
    [{ OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
    [{ ANTHROPIC_BASE_URL: 'ftp://x' }, 'ANTHROPIC_BASE_URL'],
    [{ PRICE_SHEET: '/nonexistent/prices.json' }, 'PRICE_SHEET'],
    [{ LLM_WEIGHTS: 'openai=-1' }, 'LLM_WEIGHTS'],
    [{ LLM_FALLBACK_MAP: '{"gpt-4o": "gpt-4.1"}' }, 'LLM_FALLBACK_MAP'],
    [{ LLM_FALLBACK_MAP: '[1]' }, 'LLM_FALLBACK_MAP'],
    [{ LLM_FALLBACK_EXPLICIT: 'maybe' }, 'LLM_FALLBACK_EXPLICIT'],
    [{ LLM_MAX_CONCURRENT: '0' }, 'LLM_MAX_CONCURRENT'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(makeProvidersFromEnv(env)).toEqual(E.left(expect.objectContaining({ _tag: 'LlmConfigInvalid', variable })));
  });

  it('accepts operator settings', () => {
    const setup = setupOrThrow({
      LLM_WEIGHTS: 'openai=0,claude=2',
      LLM_FALLBACK_MAP: '{"gpt-4o": "claude-opus-4-0"}',
      LLM_FALLBACK_EXPLICIT: 'true',
    });
    expect(setup.fallbackMap).toEqual({ 'gpt-4o': 'claude-opus-4-0' });
    const plan = setup.router.plan(ask('gpt-4o'), 'openai');
    expect(E.map((cs: readonly { request: { model: string } }[]) => cs.map((c) => c.request.model))(plan)).toEqual(
      E.right(['gpt-4o', 'claude-opus-4-0']),
    );
  });
});
