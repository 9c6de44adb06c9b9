import { describe, expect, it } from '@jest/globals';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeFailingStore } from '../../support/failingStore.js';
import { makeMemoryUsageReadModel } from '../../../adapters/projections/memoryUsageReadModel.js';
import { silentLogger } from '../../../application/ports/clock.js';
import { catchUpAlongside, makeProjectionRunner } from '../../../application/projections/catchUp.js';
import { foldUsage } from '../../../application/projections/usage.js';
import { CheckpointMoved, NO_POSITION } from '../../../application/projections/usageReadModel.js';
import fc from 'fast-check';
import type { RecordedEvent } from '../../../application/ports/eventStore.js';
import { buildHistory, historyArb, recompute, recorded } from './histories.js';
import { allRows, readModelSuite } from './readModelSuite.js';

describe('usage projection (memory read model)', () => {
  readModelSuite('memory', () => Promise.resolve(makeMemoryUsageReadModel()), 100);

  it('attributes a settle to its hold\'s purpose, counts stopped releases, and carries the API key dimension', () => {
    const events = recorded(
      buildHistory([
        { kind: 'reserve', account: 1, service: 'llm', provider: 'openai', model: 'gpt-4o', amount: 50, apiKey: 2, day: 0 },
        { kind: 'settle', pick: 0, charged: 20, tokens: 10, seconds: 0, stop: false, day: 1 },
        { kind: 'reserve', account: 1, service: 'llm', provider: 'openai', model: 'gpt-4o', amount: 30, apiKey: 0, day: 1 },
        { kind: 'release', pick: 0, charged: 0, tokens: 0, seconds: 0, stop: true, day: 1 },
      ]),
    );
    const batch = foldUsage(events, new Map(), NO_POSITION);
    expect(batch.position).toBe(3);
    // The settled hold stays known (for later refunds of its charge); the released one is gone.
    expect(batch.put).toEqual([['s:u1:res-1', { apiKeyId: 'k2', service: 'llm', provider: 'openai', model: 'gpt-4o', amount: 20 }]]);
    const byDay = Object.fromEntries(batch.deltas.map((r) => [`${r.day}/${r.apiKeyId}`, r]));
    expect(byDay['2026-11-28/k2']).toMatchObject({ requests: 1, creditsHeld: 50, provider: 'openai', model: 'gpt-4o', service: 'llm' });
    expect(byDay['2026-11-29/k2']).toMatchObject({ completed: 1, creditsCharged: 20, inputTokens: 10, outputTokens: 20 });
    expect(byDay['2026-11-29/']).toMatchObject({ requests: 1, stopped: 1, failed: 0, creditsHeld: 30 });
  });

  it('counts a settle by how its stream ended: completed, stopped, failed, and an older settle without it as completed', () => {
    const reserve = (n: number) => ({ kind: 'reserve' as const, account: 1, service: 'llm' as const, provider: 'openai' as const, model: 'gpt-4o' as const, amount: 50, apiKey: 0, day: n });
    const settle = (ended: 'completed' | 'stopped' | 'failed' | undefined) => ({ kind: 'settle' as const, pick: 0, charged: 5, tokens: 1, seconds: 0, stop: false, ended, day: 0 });
    const events = recorded(buildHistory([reserve(0), settle('stopped'), reserve(0), settle('failed'), reserve(0), settle('completed'), reserve(0), settle(undefined)]));
    const [row] = foldUsage(events, new Map(), NO_POSITION).deltas;
    expect(row).toMatchObject({ requests: 4, completed: 2, stopped: 1, failed: 1, creditsCharged: 20 });
  });

  it('two live runners on one read model and a rebuild in the middle count every event exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.nat(), fc.nat(), async (history, cut1, cut2) => {
        const store = makeMemoryEventStore();
        const model = makeMemoryUsageReadModel();
        // A flush interval long enough that the runners still hold events the rebuild also reads, and events appended after it ended.
        const runners = [0, 1].map(() => makeProjectionRunner({ store, model, logger: silentLogger, now: Date.now, flushMs: 40, batchSize: 1_000 }));
        await Promise.all(runners.map((r) => r.start()));
        const revisions = new Map<string, number>();
        let appended = 0;
        const append = async (items: typeof history) => {
          for (const { stream, event } of items) {
            const result = await store.appendToStream(stream, [event], revisions.get(stream) ?? 'no_stream')();
            if (result._tag === 'Left') throw new Error('append failed');
            revisions.set(stream, result.right.nextExpectedRevision);
            appended += 1;
          }
        };
        const caughtUp = async () => {
          for (let i = 0; i < 500 && (await model.checkpoint()) < appended - 1; i++) await new Promise((r) => setTimeout(r, 2));
        };
        const first = cut1 % (history.length + 1);
        const second = first + (cut2 % (history.length - first + 1));
        await append(history.slice(0, first));
        await caughtUp();
        await append(history.slice(first, second));
        // What `ledger projections rebuild` does, while both runners hold those appends unflushed.
        await model.reset();
        await catchUpAlongside(store, model, NO_POSITION, { batchSize: 5 });
        await append(history.slice(second));
        const all: RecordedEvent[] = [];
        for await (const e of store.readAll()) all.push(e);
        for (let i = 0; i < 500 && (await model.checkpoint()) < all.length - 1; i++) await new Promise((r) => setTimeout(r, 2));
        await Promise.all(runners.map((r) => r.stop()));
        expect(await model.checkpoint()).toBe(all.length - 1);
        expect(await allRows(model)).toEqual(recompute(all));
        await store.close();
      }),
      { numRuns: 30 },
    );
  });

  it('keeps following after a refused batch whose checkpoint read failed too (a store outage): never stuck, stop resolves', async () => {
    const store = makeMemoryEventStore();
    const inner = makeMemoryUsageReadModel();
    let refuseNext = false;
    let failCheckpoints = 0;
    const model: typeof inner = {
      ...inner,
      commit: (batch, after) => {
        if (refuseNext) {
          refuseNext = false;
          return Promise.reject(new CheckpointMoved(after, after + 1));
        }
        return inner.commit(batch, after);
      },
      checkpoint: () => (failCheckpoints-- > 0 ? Promise.reject(new Error('connect ECONNREFUSED')) : inner.checkpoint()),
    };
    const runner = makeProjectionRunner({ store, model, logger: silentLogger, now: Date.now, flushMs: 1 });
    await runner.start();
    const history = buildHistory([
      { kind: 'deduct', account: 0, service: 'sora2', amount: 7, day: 0 },
      { kind: 'deduct', account: 1, service: 'sora2', amount: 5, day: 0 },
    ]);
    refuseNext = true;
    failCheckpoints = 1;
    const [first, second] = history;
    if (first === undefined || second === undefined) throw new Error('no events');
    await store.appendToStream(first.stream, [first.event], 'no_stream')();
    for (let i = 0; i < 200 && (await inner.checkpoint()) < 0; i++) await new Promise((r) => setTimeout(r, 5));
    await store.appendToStream(second.stream, [second.event], 'no_stream')();
    for (let i = 0; i < 200 && (await inner.checkpoint()) < 1; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await inner.checkpoint()).toBe(1);
    expect((await allRows(inner)).reduce((sum, r) => sum + r.creditsCharged, 0)).toBe(12);
    await runner.stop();
    await store.close();
  });

  it('follows live appends after catching up, and reports its position and lag', async () => {
    const store = makeMemoryEventStore();
    const model = makeMemoryUsageReadModel();
    const runner = makeProjectionRunner({ store, model, logger: silentLogger, now: Date.now, flushMs: 5 });
    await runner.start();
    const history = buildHistory([{ kind: 'deduct', account: 0, service: 'sora2', amount: 7, day: 0 }]);
    const [first] = history;
    if (first === undefined) throw new Error('no event');
    await store.appendToStream(first.stream, [first.event], 'no_stream')();
    for (let i = 0; i < 100 && runner.status().position < 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(runner.status()).toMatchObject({ running: true, position: 0, lagEvents: 0 });
    expect(await allRows(model)).toEqual([expect.objectContaining({ accountId: 'u0', service: 'sora2', creditsCharged: 7, requests: 1, completed: 1 })]);
    await runner.stop();
    await store.close();
  });

  it('follows again after its live subscription ends in an error (a store outage), counting every event once', async () => {
    const store = makeFailingStore(makeMemoryEventStore());
    const model = makeMemoryUsageReadModel();
    const runner = makeProjectionRunner({ store, model, logger: silentLogger, now: Date.now, flushMs: 5 });
    await runner.start();
    const history = buildHistory([
      { kind: 'deduct', account: 0, service: 'sora2', amount: 7, day: 0 },
      { kind: 'deduct', account: 0, service: 'sora2', amount: 5, day: 0 },
    ]);
    const [first, second] = history;
    if (first === undefined || second === undefined) throw new Error('no events');
    await store.appendToStream(first.stream, [first.event], 'no_stream')();
    for (let i = 0; i < 100 && runner.status().position < 0; i++) await new Promise((r) => setTimeout(r, 10));
    store.breakSubscriptions();
    for (let i = 0; i < 100 && runner.status().consecutiveFailures === 0; i++) await new Promise((r) => setTimeout(r, 1));
    expect(runner.status().consecutiveFailures).toBe(1);
    await store.appendToStream(second.stream, [second.event], 0)();
    for (let i = 0; i < 300 && runner.status().position < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(runner.status()).toMatchObject({ running: true, position: 1, consecutiveFailures: 0 });
    expect(await allRows(model)).toEqual([expect.objectContaining({ accountId: 'u0', service: 'sora2', creditsCharged: 12, requests: 2 })]);
    await runner.stop();
  });
});
