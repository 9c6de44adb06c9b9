import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { CompletionDone, CompletionRequest, CompletionSink } from '../../../application/gateway/meteredCompletion.js';
import { silentLogger } from '../../../application/ports/clock.js';
import type { PeerWithPing } from '../../../adapters/ws/gateway.js';
import { makeGateway } from '../../../adapters/ws/gateway.js';
import { makeResumeBuffer } from '../../../adapters/ws/resumeBuffer.js';

/** The gateway's rules without sockets: fake peers and a completion the test drives by hand. */
type Call = { req: CompletionRequest; sink: CompletionSink; signal: AbortSignal; finish: (outcome: unknown) => void };

const doneOf = (ended: 'completed' | 'stopped'): E.Either<never, CompletionDone> =>
  E.right({ provider: 'openai', model: 'gpt-4o-mini', usage: { inputTokens: 1, outputTokens: 1 }, ended, reservationId: 'h', held: 9, capped: false, charged: 2, balance: 98, available: 98 });

const setup = (limits: Partial<Parameters<typeof makeGateway>[0]['limits']> = {}) => {
  const calls: Call[] = [];
  const completion = {
    run: (req: CompletionRequest, sink: CompletionSink, signal: AbortSignal) =>
      new Promise<never>((resolve, reject) => {
        calls.push({ req, sink, signal, finish: (o) => (o instanceof Error ? reject(o) : resolve(o as never)) });
      }),
  };
  const errors: string[] = [];
  const infos: { fields: Record<string, unknown>; message: string }[] = [];
  const gateway = makeGateway({
    completion,
    checkModel: (_p, model) => (model === 'gpt-4o-mini' ? undefined : `unknown model ${model}`),
    resume: makeResumeBuffer({ windowMs: 60_000, maxBytesPerUser: 1 << 20, maxRequestsPerUser: 64, maxBytesTotal: 1 << 24 }, Date.now),
    logger: { ...silentLogger, error: (_f, m) => errors.push(m), info: (f, m) => infos.push({ fields: f as Record<string, unknown>, message: m }) },
    now: Date.now,
    limits: { maxConnectionsPerUser: 2, maxInflightPerConnection: 4, maxBufferedBytes: 1_000, ...limits },
  });
  const peer = () => {
    const p = { sent: [] as Record<string, unknown>[], buffered: 0, closed: undefined as number | undefined, terminated: false, pings: 0 };
    const api: PeerWithPing = {
      send: (f) => p.sent.push(JSON.parse(f) as Record<string, unknown>),
      bufferedAmount: () => p.buffered,
      close: (code) => (p.closed = code),
      terminate: () => (p.terminated = true),
      ping: () => (p.pings += 1),
    };
    return { p, api };
  };
  const request = (id: string) => JSON.stringify({ id, type: 'chat', model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true });
  const tick = () => new Promise((r) => setImmediate(r));
  return { gateway, calls, peer, request, tick, errors, infos };
};

describe('gateway rules', () => {
  it('drops a slow client: terminated, its request stopped, the rest kept for resume', async () => {
    const { gateway, calls, peer, request, tick } = setup();
    const a = peer();
    const conn = gateway.connect('u', undefined, a.api);
    if (conn === undefined) throw new Error('refused');
    gateway.message(conn, request('r'));
    const call = calls[0] as Call;
    call.sink.chunk('fine');
    a.p.buffered = 5_000;
    call.sink.chunk('too much queued');
    expect(a.p.terminated).toBe(true);
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe('slowClient');
    expect(gateway.stats().totals.slowClientsDropped).toBe(1);
    call.finish(doneOf('stopped'));
    await tick();
    const b = peer();
    const again = gateway.connect('u', undefined, b.api);
    if (again === undefined) throw new Error('refused');
    gateway.message(again, JSON.stringify({ id: 'r', type: 'resume', after: 0 }));
    expect(b.p.sent.map((f) => f['type'])).toEqual(['chunk', 'chunk', 'done']);
  });

  it('heartbeat: pings, keeps sockets that answered, terminates and stops the ones that did not', () => {
    const { gateway, calls, peer, request } = setup();
    const good = peer();
    const deaf = peer();
    const g = gateway.connect('u1', undefined, good.api);
    const d = gateway.connect('u2', undefined, deaf.api);
    if (g === undefined || d === undefined) throw new Error('refused');
    gateway.message(d, request('r'));
    gateway.heartbeat();
    expect([good.p.pings, deaf.p.pings]).toEqual([1, 1]);
    gateway.pong(g);
    gateway.heartbeat();
    expect(good.p.pings).toBe(2);
    expect(deaf.p.terminated).toBe(true);
    expect(calls[0]?.signal.reason).toBe('heartbeat');
    expect(gateway.stats()).toMatchObject({ connections: 1, totals: { heartbeatTimeouts: 1 } });
  });

  it('caps connections per user (admit says so; a racing connect is closed with 1008)', () => {
    const { gateway, peer } = setup();
    expect(gateway.connect('u', undefined, peer().api)).toBeDefined();
    expect(gateway.admit('u')).toEqual({ ok: true });
    expect(gateway.connect('u', undefined, peer().api)).toBeDefined();
    expect(gateway.admit('u')).toEqual({ ok: false, reason: 'tooManyConnections' });
    const third = peer();
    expect(gateway.connect('u', undefined, third.api)).toBeUndefined();
    expect(third.p.closed).toBe(1008);
  });

  it('drain: refuses new requests, waits for the grace period, then stops what still runs and waits for it to settle', async () => {
    const { gateway, calls, peer, request } = setup();
    const a = peer();
    const conn = gateway.connect('u', undefined, a.api);
    if (conn === undefined) throw new Error('refused');
    gateway.message(conn, request('r'));
    let drained = false;
    const draining = gateway.drain(30).then(() => (drained = true));
    gateway.message(conn, request('late'));
    expect(a.p.sent.at(-1)).toMatchObject({ id: 'late', error: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    await new Promise((r) => setTimeout(r, 60));
    expect(calls[0]?.signal.reason).toBe('shutdown');
    expect(drained).toBe(false);
    calls[0]?.finish(doneOf('stopped'));
    await draining;
    expect(a.p.sent.at(-1)).toMatchObject({ id: 'r', type: 'done', ended: 'stopped' });
    expect(gateway.admit('v')).toEqual({ ok: false, reason: 'draining' });
  });

  it('resume moves a running request: later frames go to the new socket only', async () => {
    const { gateway, calls, peer, request, tick } = setup();
    const a = peer();
    const b = peer();
    const first = gateway.connect('u', undefined, a.api);
    const second = gateway.connect('u', undefined, b.api);
    if (first === undefined || second === undefined) throw new Error('refused');
    gateway.message(first, request('r'));
    const call = calls[0] as Call;
    call.sink.chunk('one');
    gateway.message(second, JSON.stringify({ id: 'r', type: 'resume', after: 0 }));
    call.sink.chunk('two');
    gateway.disconnect(first);
    expect(call.signal.aborted).toBe(false);
    call.finish(doneOf('completed'));
    await tick();
    expect(a.p.sent.map((f) => f['seq'] ?? f['type'])).toEqual([1]);
    expect(b.p.sent.map((f) => f['seq'] ?? f['type'])).toEqual([1, 2, 'done']);
  });

  it('an unexpected failure of the completion becomes an INTERNAL error frame and is logged', async () => {
    const { gateway, calls, peer, request, tick, errors } = setup();
    const a = peer();
    const conn = gateway.connect('u', undefined, a.api);
    if (conn === undefined) throw new Error('refused');
    gateway.message(conn, request('r'));
    calls[0]?.finish(new Error('store exploded'));
    await tick();
    expect(a.p.sent.at(-1)).toMatchObject({ id: 'r', type: 'error', error: { code: 'INTERNAL', retryable: true, message: 'internal error' } });
    expect(errors).toContain('completion failed unexpectedly');
    expect(gateway.stats().inFlight).toBe(0);
  });

  it('a rate limiter outage: the client hears SERVICE_UNAVAILABLE, retryable; the request line keeps the reason', async () => {
    const { gateway, calls, peer, request, tick, infos } = setup();
    const a = peer();
    const conn = gateway.connect('u', undefined, a.api);
    if (conn === undefined) throw new Error('refused');
    gateway.message(conn, request('r'));
    const reason = 'rate limiter unavailable during consume: connect ECONNREFUSED 10.1.2.3:6379';
    calls[0]?.finish(E.left({ _tag: 'LimiterUnavailable', message: reason }));
    await tick();
    expect(a.p.sent.at(-1)).toMatchObject({ id: 'r', type: 'error', error: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    expect(JSON.stringify(a.p.sent)).not.toContain('10.1.2.3');
    expect(infos.find((i) => i.message === 'llm request')?.fields).toMatchObject({ requestId: 'r', outcome: 'SERVICE_UNAVAILABLE', err: reason });
  });

  it('checks the model before anything else is asked', () => {
    const { gateway, calls, peer } = setup();
    const a = peer();
    const conn = gateway.connect('u', undefined, a.api);
    if (conn === undefined) throw new Error('refused');
    gateway.message(conn, JSON.stringify({ id: 'm', type: 'chat', model: 'gpt-9', messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(a.p.sent[0]).toMatchObject({ id: 'm', error: { code: 'INVALID_REQUEST', message: 'unknown model gpt-9' } });
    expect(calls).toHaveLength(0);
  });
});
