import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../shared/decider.js';
import type { ApiKeyCommand, ListKey } from './commands.js';
import { decideApiKey } from './decide.js';
import type { ApiKeyError } from './errors.js';
import type { ApiKeyEvent, KeyListed } from './events.js';
import { evolveApiKey, initialApiKey, type ApiKeyState } from './state.js';

/**
 * The ApiKey aggregate: one stream per key (hashed secret, owner account,
 * limit, allow-list, rate limits, revocation) carrying the key's own holds,
 * so its credit limit is decided by a decider, like the account's balance.
 */
export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyEvent, ApiKeyState, ApiKeyError> = {
  decide: decideApiKey,
  evolve: evolveApiKey,
  initialState: initialApiKey,
};

export const apiKeyStreamPrefix = 'apikey-';
export const apiKeyStream = (keyId: string): string => `${apiKeyStreamPrefix}${keyId}`;

/** The most keys one account may have listed; a bound on what a list answer can hold. */
export const keysPerAccountMax = 1000;

export type KeyListState = { readonly keyIds: readonly string[] };
export type KeyListError = { readonly _tag: 'TooManyKeys'; readonly max: number };

/** An account's key list: listing a key twice is a retry. */
export const keyListDecider: Decider<ListKey, KeyListed, KeyListState, KeyListError> = {
  decide: (command, state) => {
    if (state.keyIds.includes(command.keyId)) return E.right([]);
    if (state.keyIds.length >= keysPerAccountMax) return E.left({ _tag: 'TooManyKeys', max: keysPerAccountMax });
    return E.right([{ type: 'KeyListed', data: { keyId: command.keyId, at: command.at } }]);
  },
  evolve: (state, event) => ({ keyIds: [...state.keyIds, event.data.keyId] }),
  initialState: { keyIds: [] },
};

export const keyListStream = (accountId: string): string => `apikeys-${accountId}`;

export type * from './commands.js';
export type { ApiKeyError } from './errors.js';
export * from './events.js';
export { periodStart } from './period.js';
export * from './state.js';
export { modelsMax } from './decide.js';
