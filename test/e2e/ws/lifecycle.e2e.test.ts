import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countTextTokens } from '../../../adapters/llm/tokenizer.js';
import type { Kit } from './wsTestKit.js';
import { ask, eventually, priceOf, startKit, tryUpgrade } from './wsTestKit.js';

/**
 * Streams that end early: cancel, a client that goes away, a client that
 * stops answering pings, a provider that breaks mid-stream, a server that
 * shuts down. Each is charged for what the provider produced (priced by the
 * sheet, never above the hold), the rest of the hold is released, and the
 * audit finds nothing wrong.
 */
const SLOW = { chunks: ['one ', 'two ', 'three ', 'four ', 'five ', 'six ', 'seven ', 'eight ', 'nine ', 'ten'], chunkDelayMs: 40 };
const ALL_TEXT = SLOW.chunks.join('');

type Events = Awaited<ReturnType<Kit['accountEvents']>>;

/** The one reservation of this request, and how it ended. */
const holdOf = (events: Events, requestId: string) => {
  const reserved = events.find((e) => e.type === 'CreditsReserved' && (e.data['purpose'] as Record<string, unknown>)['requestId'] === requestId);
  const reservationId = reserved?.data['reservationId'];
  const endings = events.filter((e) => e.type !== 'CreditsReserved' && e.data['reservationId'] === reservationId);
  return { reserved, endings };
};

const expectSettledFor = async (kit: Kit, user: string, requestId: string, granted: number) => {
  await eventually(async () => (await kit.app.ledger.balance(user)).held === 0, 3_000, 'hold resolved');
  const { reserved, endings } = holdOf(await kit.accountEvents(user), requestId);
  expect(reserved).toBeDefined();
  expect(endings).toHaveLength(1);
  const settled = endings[0];
  expect(settled?.type).toBe('ReservationSettled');
  const usage = settled?.data['usage'] as { model: string; inputTokens: number; outputTokens: number };
  const charged = settled?.data['charged'] as number;
  expect(charged).toBe(priceOf(kit.app, usage.model, usage));
  expect(charged + (settled?.data['released'] as number)).toBe(reserved?.data['amount']);
  expect((await kit.app.ledger.balance(user)).balance).toBe(granted - charged);
  expect(await kit.audit()).toEqual([]);
  return { usage, charged };
};

describe('WebSocket gateway: streams that end early', () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await startKit();
  });
  afterAll(() => kit.stop());

  it('cancel: the upstream request is closed, done says stopped, the charge is for what was produced', async () => {
    await kit.grant('canceller', 100_000);
    kit.openai.enqueue(SLOW);
    const s = await kit.open('canceller');
    s.send(ask('c1', { provider: 'openai' }));
    await s.next((f) => f.id === 'c1' && f.seq === 2);
    s.send({ id: 'c1', type: 'cancel' });
    const { end, text } = await s.result('c1');
    expect(end).toMatchObject({ type: 'done', ended: 'stopped' });
    expect(text.length).toBeLessThan(ALL_TEXT.length);
    expect(await kit.openai.requests[kit.openai.requests.length - 1]?.outcome).toBe('closedByClient');
    const { usage, charged } = await expectSettledFor(kit, 'canceller', 'c1', 100_000);
    expect(end.credits?.charged).toBe(charged);
    expect(usage.outputTokens).toBeGreaterThanOrEqual(countTextTokens('gpt-4o-mini', text));
    expect(usage.outputTokens).toBeLessThan(countTextTokens('gpt-4o-mini', ALL_TEXT));
  });

  it('client disconnect mid-stream: aborted upstream, settled for the tokens produced, rest released', async () => {
    await kit.grant('leaver', 100_000);
    kit.openai.enqueue(SLOW);
    const s = await kit.open('leaver');
    s.send(ask('d1', { provider: 'openai' }));
    await s.next((f) => f.id === 'd1' && f.seq === 3);
    s.ws.terminate();
    expect(await kit.openai.requests[kit.openai.requests.length - 1]?.outcome).toBe('closedByClient');
    const { usage } = await expectSettledFor(kit, 'leaver', 'd1', 100_000);
    expect(usage.outputTokens).toBeGreaterThanOrEqual(countTextTokens('gpt-4o-mini', 'one two three '));
    expect(usage.outputTokens).toBeLessThan(countTextTokens('gpt-4o-mini', ALL_TEXT));
    expect(kit.ws.stats().inFlight).toBe(0);
  });

  it('provider failure mid-stream: error frame with what was charged for the delivered text', async () => {
    await kit.grant('unlucky', 100_000);
    kit.openai.enqueue({ chunks: ['a', 'b', 'c', 'd'], fault: { kind: 'resetAfter', chunks: 2 } });
    const s = await kit.open('unlucky');
    s.send(ask('x1', { provider: 'openai' }));
    const { end, text } = await s.result('x1');
    expect(text).toBe('ab');
    expect(end.type).toBe('error');
    expect(['PROVIDER_ERROR', 'PROVIDER_UNAVAILABLE']).toContain(end.error?.code);
    const { charged } = await expectSettledFor(kit, 'unlucky', 'x1', 100_000);
    expect((end.error?.['credits'] as { charged: number }).charged).toBe(charged);
  });

  it('provider failure before any chunk: error frame, the hold is released in full, nothing charged', async () => {
    await kit.grant('refunded', 100_000);
    kit.openai.enqueue({ fault: { kind: 'status', status: 500 } });
    const s = await kit.open('refunded');
    s.send(ask('x2', { provider: 'openai' }));
    const { end, chunks } = await s.result('x2');
    expect(chunks).toHaveLength(0);
    expect(end.error).toMatchObject({ retryable: true });
    expect(['PROVIDER_ERROR', 'PROVIDER_UNAVAILABLE']).toContain(end.error?.code);
    await eventually(async () => (await kit.app.ledger.balance('refunded')).held === 0);
    const { endings } = holdOf(await kit.accountEvents('refunded'), 'x2');
    expect(endings.map((e) => e.type)).toEqual(['ReservationReleased']);
    expect((await kit.app.ledger.balance('refunded')).balance).toBe(100_000);
    expect(await kit.audit()).toEqual([]);
  });
});

describe('WebSocket gateway: heartbeat', () => {
  let kit: Kit;
  beforeAll(async () => {
    kit = await startKit({ env: { WS_HEARTBEAT_MS: '80' } });
  });
  afterAll(() => kit.stop());

  it('terminates a socket that ignores pings and settles its stream; a socket that answers stays', async () => {
    await kit.grant('deaf', 100_000);
    kit.openai.enqueue({ ...SLOW, chunkDelayMs: 60 });
    const good = await kit.open('healthy');
    const deaf = await kit.open('deaf', { autoPong: false });
    deaf.send(ask('h1', { provider: 'openai' }));
    await deaf.next((f) => f.id === 'h1' && f.seq === 1);
    const closed = await deaf.closed;
    expect(closed.code).toBe(1006); // terminated: no closing handshake
    expect(deaf.frames.some((f) => f.id === 'h1' && f.type === 'done')).toBe(false);
    await expectSettledFor(kit, 'deaf', 'h1', 100_000);
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    expect(kit.ws.stats().totals.heartbeatTimeouts).toBeGreaterThanOrEqual(1);
  });
});

describe('WebSocket gateway: graceful close', () => {
  it('stops accepting, stops running streams, settles them, sends done, then closes sockets with 1001', async () => {
    const kit = await startKit();
    try {
      await kit.grant('draining', 100_000);
      kit.openai.setDefault(SLOW);
      const s = await kit.open('draining');
      s.send(ask('g1', { provider: 'openai' }));
      s.send(ask('g2', { provider: 'openai' }));
      await s.next((f) => f.id === 'g2' && f.seq === 1);
      const closing = kit.ws.close();
      const refused = await tryUpgrade(`${kit.ws.url}/`, { Authorization: `Bearer ${await kit.token('late')}` }).catch(() => 'refused');
      expect(refused).not.toBe('open');
      await closing;
      expect((await s.closed).code).toBe(1001);
      for (const id of ['g1', 'g2']) expect(s.frames.find((f) => f.id === id && f.type === 'done')).toMatchObject({ ended: 'stopped' });
      const balance = await kit.app.ledger.balance('draining');
      expect(balance.held).toBe(0);
      expect(balance.balance).toBeLessThan(100_000);
      expect(await kit.audit()).toEqual([]);
    } finally {
      await kit.stop();
    }
  });

  it('lets streams finish within the shutdown grace period', async () => {
    const kit = await startKit({ ws: { shutdownGraceMs: 3_000 } });
    try {
      await kit.grant('patient', 100_000);
      kit.openai.enqueue({ chunks: ['a', 'b', 'c'], chunkDelayMs: 30 });
      const s = await kit.open('patient');
      s.send(ask('p1', { provider: 'openai' }));
      await s.next((f) => f.id === 'p1' && f.seq === 1);
      await kit.ws.close();
      const { end, text } = await s.result('p1');
      expect(end.ended).toBe('completed');
      expect(text).toBe('abc');
      expect((await kit.app.ledger.balance('patient')).held).toBe(0);
    } finally {
      await kit.stop();
    }
  });
});
