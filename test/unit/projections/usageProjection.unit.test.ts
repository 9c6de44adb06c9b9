import { describe, expect, it } from '@jest/globals';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeMemoryUsageReadModel } from '../../../adapters/projections/memoryUsageReadModel.js';
import { silentLogger } from '../../../application/ports/clock.js';
import { makeProjectionRunner } from '../../../application/projections/catchUp.js';
import { foldUsage } from '../../../application/projections/usage.js';
import { NO_POSITION } from '../../../application/projections/usageReadModel.js';
import { buildHistory, recorded } from './histories.js';
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
});
