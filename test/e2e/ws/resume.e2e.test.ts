import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ClientEvent } from '../../../adapters/ws/client.js';
import { connectGateway } from '../../../adapters/ws/client.js';
import type { Kit } from './wsTestKit.js';
import { ask, eventually, sleep, startKit, startProxy } from './wsTestKit.js';

/**
 * Resume: a client that lost its socket reconnects as the same user and asks
 * for everything after the last seq it saw. It gets the missing chunks and
 * the done frame; the provider is not asked again and the request is paid once.
 */
const CHUNKS = ['alpha ', 'beta ', 'gamma ', 'delta ', 'epsilon ', 'zeta ', 'eta ', 'theta'];
const TEXT = CHUNKS.join('');

const reservationsFor = async (kit: Kit, user: string, requestId: string) => {
  const events = await kit.accountEvents(user);
  const reserved = events.filter((e) => e.type === 'CreditsReserved' && (e.data['purpose'] as Record<string, unknown>)['requestId'] === requestId);
  const ids = new Set(reserved.map((e) => e.data['reservationId']));
  const settled = events.filter((e) => e.type === 'ReservationSettled' && ids.has(e.data['reservationId']));
  return { reserved, settled };
};

describe('WebSocket gateway: resume', () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await startKit();
  });
  afterAll(() => kit.stop());

  it('a request still running moves to the new socket and keeps streaming; charged once, provider asked once', async () => {
    await kit.grant('mover', 100_000);
    kit.openai.enqueue({ chunks: CHUNKS, chunkDelayMs: 30 });
    const calls = kit.openai.requests.length;
    const first = await kit.open('mover');
    first.send(ask('r1', { provider: 'openai' }));
    await first.next((f) => f.id === 'r1' && f.seq === 2);
    // The old socket is still open as far as the server knows (a network switch looks like this).
    const second = await kit.open('mover');
    second.send({ id: 'r1', type: 'resume', after: 2 });
    const { chunks, end } = await second.result('r1');
    const seen = first.frames.filter((f) => f.id === 'r1' && f.type === 'chunk' && (f.seq ?? 0) <= 2);
    expect([...seen, ...chunks].map((c) => c.data).join('')).toBe(TEXT);
    expect(chunks.map((c) => c.seq)).toEqual(CHUNKS.slice(2).map((_, i) => i + 3));
    expect(end).toMatchObject({ type: 'done', ended: 'completed' });
    expect(first.frames.some((f) => f.id === 'r1' && f.type === 'done')).toBe(false);
    expect(kit.openai.requests.length).toBe(calls + 1);
    const { reserved, settled } = await reservationsFor(kit, 'mover', 'r1');
    expect(reserved).toHaveLength(1);
    expect(settled).toHaveLength(1);
    expect(settled[0]?.data['charged']).toBe(end.credits?.charged);
    // The old socket closing later does not stop the request it no longer owns.
    first.ws.close();
  });

  it('a finished request replays from any seq within the window, byte for byte, without charging again', async () => {
    await kit.grant('replayer', 100_000);
    kit.openai.enqueue({ chunks: CHUNKS });
    const first = await kit.open('replayer');
    first.send(ask('r2', { provider: 'openai' }));
    const original = await first.result('r2');
    const balance = (await kit.app.ledger.balance('replayer')).balance;
    first.ws.terminate();
    const second = await kit.open('replayer');
    second.send({ id: 'r2', type: 'resume', after: 5 });
    const replay = await second.result('r2');
    expect(replay.chunks).toEqual(original.chunks.slice(5));
    expect(replay.end).toEqual(original.end);
    second.send({ id: 'r2', type: 'resume', after: 8 });
    await eventually(() => second.frames.filter((f) => f.id === 'r2' && f.type === 'done').length === 2);
    expect((await kit.app.ledger.balance('replayer')).balance).toBe(balance);
    expect((await reservationsFor(kit, 'replayer', 'r2')).reserved).toHaveLength(1);
  });

  it('a request stopped by a disconnect replays what was produced and its stopped done frame', async () => {
    await kit.grant('dropper', 100_000);
    kit.openai.enqueue({ chunks: CHUNKS, chunkDelayMs: 30 });
    const first = await kit.open('dropper');
    first.send(ask('r3', { provider: 'openai' }));
    await first.next((f) => f.id === 'r3' && f.seq === 2);
    first.ws.terminate();
    await eventually(async () => (await kit.app.ledger.balance('dropper')).held === 0);
    const second = await kit.open('dropper');
    second.send({ id: 'r3', type: 'resume', after: 1 });
    const { chunks, end } = await second.result('r3');
    expect(chunks[0]?.seq).toBe(2);
    expect(end).toMatchObject({ type: 'done', ended: 'stopped' });
    expect((await reservationsFor(kit, 'dropper', 'r3')).settled).toHaveLength(1);
  });

  it('another user cannot resume someone else’s request; a seq past the end is refused', async () => {
    await kit.grant('owner', 100_000);
    kit.openai.enqueue({ chunks: ['x', 'y'] });
    const owner = await kit.open('owner');
    owner.send(ask('mine', { provider: 'openai' }));
    await owner.result('mine');
    const thief = await kit.open('thief');
    thief.send({ id: 'mine', type: 'resume', after: 0 });
    expect((await thief.next((f) => f.id === 'mine')).error).toMatchObject({ code: 'RESUME_UNAVAILABLE' });
    expect(thief.frames.some((f) => f.type === 'chunk')).toBe(false);
    owner.send({ id: 'mine', type: 'resume', after: 7 });
    expect((await owner.next((f) => f.id === 'mine' && f.type === 'error')).error).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('the typed client reconnects by itself after its network drops and finishes the stream in full', async () => {
    await kit.grant('roamer', 100_000);
    kit.openai.enqueue({ chunks: CHUNKS, chunkDelayMs: 40 });
    const proxy = await startProxy(kit.ws.port);
    const events: ClientEvent[] = [];
    const client = await connectGateway({
      url: proxy.url,
      getToken: () => kit.token('roamer'),
      reconnect: { baseMs: 20, maxMs: 100 },
      onEvent: (e) => events.push(e),
    });
    try {
      const answer = client.complete({ id: 'roam-1', provider: 'openai', model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Greek letters' }], maxTokens: 64 });
      let text = '';
      const seqs: number[] = [];
      for await (const chunk of answer) {
        text += chunk.data;
        seqs.push(chunk.seq);
        if (chunk.seq === 2) proxy.cutClients();
      }
      const done = await answer.done;
      expect(text).toBe(TEXT);
      expect(seqs).toEqual(CHUNKS.map((_, i) => i + 1));
      expect(done.ended).toBe('completed');
      expect(client.connections()).toBe(2);
      expect(events.some((e) => e.type === 'reconnecting')).toBe(true);
      const { reserved, settled } = await reservationsFor(kit, 'roamer', 'roam-1');
      expect(reserved).toHaveLength(1);
      expect(settled[0]?.data['charged']).toBe(done.credits.charged);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('the typed client fails a request with RESUME_UNAVAILABLE when the server forgot it, and the audit passes', async () => {
    const restarted = await startKit({ ws: { resume: { windowMs: 0, maxBytesPerUser: 1 << 20, maxRequestsPerUser: 16, maxBytesTotal: 1 << 24 } } });
    await restarted.grant('forgotten', 100_000);
    restarted.openai.enqueue({ chunks: CHUNKS, chunkDelayMs: 20 });
    const client = await connectGateway({ url: restarted.ws.url, getToken: () => restarted.token('forgotten'), reconnect: { baseMs: 150, maxMs: 200 } });
    try {
      const answer = client.complete({ id: 'gone', provider: 'openai', model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      for await (const chunk of answer) {
        if (chunk.seq === 1) client.socket()?.terminate();
      }
      // Unreachable when the stream fails as expected.
      throw new Error('the stream should have failed');
    } catch (error) {
      expect((error as { code?: string }).code).toBe('RESUME_UNAVAILABLE');
      await sleep(10);
      expect(await restarted.audit()).toEqual([]);
    } finally {
      await client.close();
      await restarted.stop();
    }
    expect(await kit.audit()).toEqual([]);
  });
});
