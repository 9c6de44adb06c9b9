import type { LlmProvider, ProviderPreference } from './llmProvider.js';

/**
 * Which providers may serve a request, best first. The first candidate is the
 * one asked; the others are fallbacks, tried only before any chunk reached
 * the client. An empty list means no provider serves that model.
 * Implemented by the router in adapters/llm (availability, breaker state,
 * load, the operator's fallback map).
 */
export type ProviderCandidate = { readonly provider: LlmProvider; readonly model: string };

export type ProviderSelector = (preference: ProviderPreference, model: string) => readonly ProviderCandidate[];
