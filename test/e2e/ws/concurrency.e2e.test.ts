import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kit, TestSocket } from './wsTestKit.js';
import { ask, startKit } from './wsTestKit.js';

/**
 * Fifty requests at once from one user whose balance covers only a few holds,
 * on a real SQLite file: the holds decide who streams, nobody streams without
 * one, and the total charged never exceeds what was granted.
 */
describe('WebSocket gateway: 50 concurrent requests against a small balance (SQLite store)', () => {
  let kit: Kit;
  let dir: string;
  const granted = 200;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ws-concurrency-'));
    kit = await startKit({ env: { EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}`, WS_MAX_INFLIGHT_PER_CONNECTION: '16' } });
  });
  afterAll(async () => {
    await kit.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams only under a hold; sum charged <= granted; every hold resolved once; audit passes', async () => {
    await kit.grant('crowd', granted);
    kit.openai.setDefault({ chunks: ['a', 'b', 'c', 'd', 'e'], chunkDelayMs: 15 });
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 5; i++) sockets.push(await kit.open('crowd'));
    const ids: { socket: TestSocket; id: string }[] = [];
    for (let i = 0; i < 50; i++) {
      const socket = sockets[i % 5] as TestSocket;
      // gpt-4o-mini, 1000 max tokens: a hold of about 61 credits, so at most 3 fit in 200 at any moment.
      const id = `c${i}`;
      socket.send(ask(id, { provider: 'openai', maxTokens: 1000 }));
      ids.push({ socket, id });
    }
    const results = await Promise.all(ids.map(({ socket, id }) => socket.result(id, 10_000).then((r) => ({ id, ...r }))));
    kit.openai.setDefault({});

    const served = results.filter((r) => r.end.type === 'done');
    const refused = results.filter((r) => r.end.type === 'error');
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(served.length).toBeLessThan(50);
    for (const r of refused) {
      expect(r.end.error?.code).toBe('INSUFFICIENT_CREDITS');
      expect(r.chunks).toHaveLength(0);
    }
    for (const r of served) expect(r.text).toBe('abcde');

    const charged = served.reduce((sum, r) => sum + (r.end.credits?.charged ?? 0), 0);
    const balance = await kit.app.ledger.balance('crowd');
    expect(charged).toBeLessThanOrEqual(granted);
    expect(balance.balance).toBe(granted - charged);
    expect(balance.held).toBe(0);

    const events = await kit.accountEvents('crowd');
    const reserved = events.filter((e) => e.type === 'CreditsReserved');
    const holdOwners = new Set(reserved.map((e) => (e.data['purpose'] as Record<string, unknown>)['requestId']));
    // Every request that streamed had a hold, and only those did.
    expect([...holdOwners].sort()).toEqual(served.map((r) => r.id).sort());
    const resolved = events.filter((e) => e.type === 'ReservationSettled' || e.type === 'ReservationReleased');
    expect(resolved).toHaveLength(reserved.length);
    expect(new Set(resolved.map((e) => e.data['reservationId'])).size).toBe(reserved.length);
    expect(await kit.audit()).toEqual([]);
  });
});
