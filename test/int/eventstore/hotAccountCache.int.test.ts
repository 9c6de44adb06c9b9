import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLedger } from '../../../application/credits/ledger.js';
import { balanceAt } from '../../../application/credits/queries.js';
import { sealEvents } from '../../../application/integrity.js';
import type { EventStore, RecordedEvent } from '../../../application/ports/eventStore.js';
import { makeSqliteEventStore } from '../../../adapters/eventstore/sqlite/index.js';
import type { CreditAccountEvent } from '../../../domain/creditAccount/index.js';
import { makeTestClock, makeTestIds } from '../../unit/application/testClock.js';

/**
 * A hot account with a long history: the first command folds it once, every
 * later command is decided from the cached state and reads nothing, and the
 * cached state equals a full replay.
 */
describe('long account history (100k events, SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hot-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('folds the history once, then decides without replaying it', async () => {
    const store = await makeSqliteEventStore({ path: join(dir, 'ledger.db'), synchronous: 'NORMAL' });
    const at = 1_700_000_000_000;
    const history: CreditAccountEvent[] = [
      { type: 'AccountOpened', data: { accountId: 'hot', at } },
      { type: 'CreditsGranted', data: { grantId: 'g', amount: 100_000_000, at } },
    ];
    for (let i = 0; history.length < 100_000; i++) history.push({ type: 'CreditsDeducted', data: { deductionId: `d${i}`, amount: 1, service: 's', at } });
    let prev = '';
    for (let from = 0; from < history.length; from += 10_000) {
      const { sealed, lastHash } = sealEvents('account-hot', from, prev, history.slice(from, from + 10_000), at);
      await store.appendToStream('account-hot', sealed, from === 0 ? 'no_stream' : from - 1)();
      prev = lastHash;
    }
    let eventsRead = 0;
    const counting: EventStore = {
      ...store,
      readStream: async function* (name, options) {
        for await (const e of store.readStream(name, options) as AsyncIterable<RecordedEvent>) {
          eventsRead++;
          yield e;
        }
      },
    };
    const clock = makeTestClock(at + 1000);
    const ledger = makeLedger({ store: counting, clock, ids: makeTestIds() });
    const first = performance.now();
    await ledger.deduct({ accountId: 'hot', deductionId: 'new-0', amount: 5, service: 's' });
    const firstMs = performance.now() - first;
    expect(eventsRead).toBe(100_000);
    eventsRead = 0;
    const rest = performance.now();
    for (let i = 1; i <= 200; i++) await ledger.deduct({ accountId: 'hot', deductionId: `new-${i}`, amount: 5, service: 's' });
    const restMs = (performance.now() - rest) / 200;
    expect(eventsRead).toBe(0);
    // A later command costs a small fraction of the first (which folded 100k events).
    expect(restMs).toBeLessThan(firstMs / 10);
    const cached = await ledger.balance('hot');
    const replayed = await balanceAt(store, 'hot', Number.MAX_SAFE_INTEGER);
    expect(cached).toMatchObject({ balance: replayed.balance, held: replayed.held });
    expect(replayed.balance).toBe(100_000_000 - 99_998 - 201 * 5);
    await store.close();
  }, 60_000);
});
