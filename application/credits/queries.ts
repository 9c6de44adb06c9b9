import { accountStream, creditAccountDecider } from '../../domain/creditAccount/index.js';
import type { CreditAccountEvent } from '../../domain/creditAccount/index.js';
import type { EventStore } from '../ports/eventStore.js';
import { CorruptEvent } from '../commandHandler.js';
import { balancesOf, decodeAccountEvent } from './ledger.js';

/** Read-side questions an auditor or a user asks of one account. */

/**
 * The balance as it was at `at` (ms): the account's events the store
 * committed at or before that instant, folded. Commit times are the store's
 * own and follow its global order, so this is the account's part of the same
 * prefix `audit --at` replays, whatever clock each writer had.
 */
export const balanceAt = async (store: EventStore, accountId: string, at: number) => {
  let state = creditAccountDecider.initialState;
  let revision = -1;
  for await (const recorded of store.readStream(accountStream(accountId))) {
    const event = decodeAccountEvent(recorded);
    if (event === undefined) throw new CorruptEvent(recorded.streamName, recorded.revision, recorded.type);
    if (recorded.committedAt > at) break;
    state = creditAccountDecider.evolve(state, event);
    revision = recorded.revision;
  }
  return { accountId, at, exists: state.status === 'open', revision, ...balancesOf(state) };
};

export type HistoryEntry = {
  readonly revision: number;
  readonly position: number;
  readonly type: CreditAccountEvent['type'];
  readonly data: CreditAccountEvent['data'];
  readonly hash: string;
};

/** One page of an account's history, oldest first. */
export const history = async (store: EventStore, accountId: string, page: { fromRevision?: number; limit?: number } = {}) => {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), 1000);
  const entries: HistoryEntry[] = [];
  for await (const recorded of store.readStream(accountStream(accountId), { fromRevision: page.fromRevision ?? 0, maxCount: limit + 1 })) {
    const event = decodeAccountEvent(recorded);
    if (event === undefined) throw new CorruptEvent(recorded.streamName, recorded.revision, recorded.type);
    entries.push({ revision: recorded.revision, position: recorded.position, type: event.type, data: event.data, hash: recorded.metadata.hash });
  }
  const hasMore = entries.length > limit;
  const items = hasMore ? entries.slice(0, limit) : entries;
  const last = items[items.length - 1];
  return { items, nextFromRevision: hasMore && last !== undefined ? last.revision + 1 : undefined };
};
