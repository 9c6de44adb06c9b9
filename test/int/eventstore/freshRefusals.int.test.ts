import { afterAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLedger } from '../../../application/credits/ledger.js';
import { makeSqliteEventStore } from '../../../adapters/eventstore/sqlite/index.js';
import { makeTestClock, makeTestIds } from '../../unit/application/testClock.js';

/**
 * Issue 10 case 3 on SQLite: two store connections on one file, each with its
 * own ledger (command handler and cache), as two processes would have.
 */
describe('refusals on fresh state, two handlers on one SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fresh-refusals-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a grant by the other process turns the next 402 into an accepted deduction', async () => {
    const path = join(dir, 'ledger.db');
    const storeA = await makeSqliteEventStore({ path });
    const storeB = await makeSqliteEventStore({ path });
    try {
      const clock = makeTestClock(Date.now());
      const a = makeLedger({ store: storeA, clock, ids: makeTestIds() });
      const b = makeLedger({ store: storeB, clock, ids: makeTestIds() });
      expect(E.isRight(await a.grant({ accountId: 'acc', grantId: 'g1', amount: 10 }))).toBe(true);
      const refused = await a.deduct({ accountId: 'acc', deductionId: 'd1', amount: 50, service: 'x' });
      expect(E.isLeft(refused) && refused.left._tag).toBe('InsufficientCredits');
      expect(E.isRight(await b.grant({ accountId: 'acc', grantId: 'g2', amount: 100 }))).toBe(true);
      const accepted = await a.deduct({ accountId: 'acc', deductionId: 'd1', amount: 50, service: 'x' });
      expect(E.isRight(accepted) && accepted.right).toMatchObject({ balance: 60 });
      // And the other way round: B settles a hold A took, which B's cache has never seen.
      expect(E.isRight(await a.reserve({ accountId: 'acc', reservationId: 'r', amount: 20, ttlMs: 60_000, purpose: { service: 'sora2' } }))).toBe(true);
      const settled = await b.settle({ accountId: 'acc', reservationId: 'r', charge: 20, usage: { videoSeconds: 4 }, priceSheetVersion: 'v1' });
      expect(E.isRight(settled) && settled.right).toMatchObject({ balance: 40, held: 0 });
    } finally {
      await storeA.close();
      await storeB.close();
    }
  }, 30_000);
});
