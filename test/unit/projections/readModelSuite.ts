import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { silentLogger } from '../../../application/ports/clock.js';
import type { EventStore } from '../../../application/ports/eventStore.js';
import { applyBatch, catchUp, makeProjectionRunner } from '../../../application/projections/catchUp.js';
import { foldUsage, refsNeeded } from '../../../application/projections/usage.js';
import type { UsageRow } from '../../../application/projections/usage.js';
import type { UsageReadModel } from '../../../application/projections/usageReadModel.js';
import { CheckpointMoved, NO_POSITION, usageDimensions } from '../../../application/projections/usageReadModel.js';
import { cutsArb, historyArb, recompute, recorded, splitBy, sortRows } from './histories.js';

/**
 * One suite for every usage read model (memory here; SQLite and PostgreSQL in
 * test/int/projections): the projection must equal a from-scratch
 * recomputation whatever the batch boundaries, survive a stop between
 * batches without counting twice, and a rebuild must equal the incremental
 * result.
 */
const canon = (row: Partial<UsageRow>): UsageRow => ({
  day: row.day ?? '',
  accountId: row.accountId ?? '',
  apiKeyId: row.apiKeyId ?? '',
  service: row.service ?? 'other',
  provider: row.provider ?? '',
  model: row.model ?? '',
  requests: row.requests ?? 0,
  completed: row.completed ?? 0,
  stopped: row.stopped ?? 0,
  failed: row.failed ?? 0,
  inputTokens: row.inputTokens ?? 0,
  outputTokens: row.outputTokens ?? 0,
  videoSeconds: row.videoSeconds ?? 0,
  creditsHeld: row.creditsHeld ?? 0,
  creditsCharged: row.creditsCharged ?? 0,
  creditsRefunded: row.creditsRefunded ?? 0,
});

export const allRows = async (model: UsageReadModel): Promise<UsageRow[]> => {
  const page = await model.query({ groupBy: usageDimensions, limit: 1_000_000, offset: 0 });
  return sortRows(page.rows.map(canon));
};

const appendAll = async (store: EventStore, history: readonly { stream: string; event: Parameters<EventStore['appendToStream']>[1][number] }[]) => {
  const revisions = new Map<string, number>();
  for (const { stream, event } of history) {
    const expected = revisions.get(stream);
    const result = await store.appendToStream(stream, [event], expected ?? 'no_stream')();
    if (result._tag === 'Left') throw new Error('append failed');
    revisions.set(stream, result.right.nextExpectedRevision);
  }
};

export const readModelSuite = (name: string, open: () => Promise<UsageReadModel>, runs = 60) => {
  it(`${name}: for random histories and random batch boundaries, the rows equal a from-scratch recomputation`, async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, cutsArb, async (history, cuts) => {
        const events = recorded(history);
        const model = await open();
        try {
          let position = NO_POSITION;
          for (const batch of splitBy(events, cuts)) position = await applyBatch(model, batch, position);
          expect(await model.checkpoint()).toBe(events.length === 0 ? NO_POSITION : events.length - 1);
          expect(await allRows(model)).toEqual(recompute(events).map(canon));
          const open = events.filter((e) => e.type === 'CreditsReserved').length - events.filter((e) => /^Reservation(Settled|Released|Expired)$/.test(e.type)).length;
          expect((await model.openHolds()).count).toBe(open);
        } finally {
          await model.close();
        }
      }),
      { numRuns: runs },
    );
  });

  it(`${name}: a batch committed twice is refused (CheckpointMoved) and counts once`, async () => {
    const [history] = fc.sample(historyArb.filter((h) => h.length > 10), { numRuns: 1, seed: 7 });
    const events = recorded(history ?? []);
    const model = await open();
    try {
      const batch = foldUsage(events, await model.refs(refsNeeded(events)), NO_POSITION);
      await model.commit(batch, NO_POSITION);
      await expect(model.commit(batch, NO_POSITION)).rejects.toBeInstanceOf(CheckpointMoved);
      expect(await allRows(model)).toEqual(recompute(events).map(canon));
    } finally {
      await model.close();
    }
  });

  it(`${name}: a runner stopped between batches and restarted counts nothing twice; a rebuild equals the incremental rows`, async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.integer({ min: 1, max: 8 }), fc.nat(10), async (history, batchSize, stopAfter) => {
        const store = makeMemoryEventStore();
        const model = await open();
        try {
          await appendAll(store, history);
          let batches = 0;
          // The first run stops after `stopAfter` batches, as a killed process would.
          await catchUp(store, model, await model.checkpoint(), { batchSize, shouldStop: () => batches++ >= stopAfter });
          const runner = makeProjectionRunner({ store, model, logger: silentLogger, now: Date.now, batchSize });
          await runner.start();
          await runner.flush();
          await runner.stop();
          const events = recorded(history);
          const incremental = await allRows(model);
          expect(incremental).toEqual(recompute(events).map(canon));
          await model.reset();
          await catchUp(store, model, NO_POSITION, { batchSize: 1000 });
          expect(await allRows(model)).toEqual(incremental);
        } finally {
          await model.close();
          await store.close();
        }
      }),
      { numRuns: Math.max(10, Math.floor(runs / 3)) },
    );
  });
};
