import * as t from 'io-ts';
import type { LlmProvider } from '../../../application/ports/llmProvider.js';

/**
 * Which model of the other provider stands in for a model when its own
 * provider is rate limited or down. Operators replace it with the
 * LLM_FALLBACK_MAP variable (a JSON object); see docs/providers.md.
 */
export const FallbackMapCodec = t.record(t.string, t.string);
export type FallbackMap = Readonly<Record<string, string>>;

export const DEFAULT_FALLBACK_MAP: FallbackMap = {
  'gpt-3.5-turbo': 'claude-3-haiku-20240307',
  'gpt-4': 'claude-sonnet-4-0',
  'gpt-4-turbo': 'claude-sonnet-4-0',
  'gpt-4o': 'claude-sonnet-4-0',
  'gpt-4o-mini': 'claude-3-5-haiku-latest',
  'gpt-4.1': 'claude-sonnet-4-0',
  'gpt-4.1-mini': 'claude-3-5-haiku-latest',
  'gpt-4.1-nano': 'claude-3-haiku-20240307',
  'o3-mini': 'claude-3-7-sonnet-latest',
  'o4-mini': 'claude-3-7-sonnet-latest',
  o3: 'claude-opus-4-0',
  'claude-3-haiku-20240307': 'gpt-4o-mini',
  'claude-3-5-haiku-latest': 'gpt-4o-mini',
  'claude-haiku-4-5': 'gpt-4.1-mini',
  'claude-3-5-sonnet-latest': 'gpt-4o',
  'claude-3-7-sonnet-latest': 'gpt-4.1',
  'claude-sonnet-4-0': 'gpt-4.1',
  'claude-sonnet-4-5': 'gpt-4.1',
  'claude-opus-4-0': 'o3',
  'claude-opus-4-1': 'o3',
};

/** Entries that cannot work with these providers (unknown model, or the same provider on both sides). */
export const fallbackMapProblems = (map: FallbackMap, providers: readonly LlmProvider[]): readonly string[] => {
  const servedBy = (model: string) => providers.find((p) => p.models().includes(model))?.name;
  const problems: string[] = [];
  for (const [from, to] of Object.entries(map)) {
    const a = servedBy(from);
    const b = servedBy(to);
    if (a === undefined) problems.push(`${from}: no provider serves this model`);
    else if (b === undefined) problems.push(`${from} -> ${to}: no provider serves ${to}`);
    else if (a === b) problems.push(`${from} -> ${to}: both are served by ${a}; a fallback must change provider`);
  }
  return problems;
};
