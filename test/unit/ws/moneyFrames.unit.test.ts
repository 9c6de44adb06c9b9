import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { CompletionDone, CompletionRequest, CompletionSink } from '../../../application/gateway/meteredCompletion.js';
import { silentLogger } from '../../../application/ports/clock.js';
import { eventStoreUnavailable } from '../../../application/storeOutage.js';
import type { PeerWithPing } from '../../../adapters/ws/gateway.js';
import { makeGateway } from '../../../adapters/ws/gateway.js';
import { makeResumeBuffer } from '../../../adapters/ws/resumeBuffer.js';

/** The frames the money path sends on the WebSocket: outages and pending charges (issue 10, cases 5 and 9). */
type Call = { req: CompletionRequest; sink: CompletionSink; signal: AbortSignal; finish: (outcome: unknown) => void };

const setup = () => {
  const calls: Call[] = [];
  const completion = {
    run: (req: CompletionRequest, sink: CompletionSink, signal: AbortSignal) =>
      new Promise<never>((resolve, reject) => {
        calls.push({ req, sink, signal, finish: (o) => (o instanceof Error ? reject(o) : resolve(o as never)) });
      }),
  };
  const gateway = makeGateway({
    completion,
    checkModel: () => undefined,
    resume: makeResumeBuffer({ windowMs: 60_000, maxBytesPerUser: 1 << 20, maxRequestsPerUser: 64, maxBytesTotal: 1 << 24 }, Date.now),
    logger: silentLogger,
    now: Date.now,
    limits: { maxConnectionsPerUser: 2, maxInflightPerConnection: 4, maxBufferedBytes: 1_000_000 },
  });
  const sent: Record<string, unknown>[] = [];
  const peer: PeerWithPing = { send: (f) => sent.push(JSON.parse(f) as Record<string, unknown>), bufferedAmount: () => 0, close: () => undefined, terminate: () => undefined, ping: () => undefined };
  const conn = gateway.connect('u', undefined, peer);
  if (conn === undefined) throw new Error('refused');
  gateway.message(conn, JSON.stringify({ id: 'r', type: 'chat', model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }));
  return { call: calls[0] as Call, sent, tick: () => new Promise((r) => setImmediate(r)) };
};

describe('money frames on the WebSocket', () => {
  it('an event store outage is a retryable SERVICE_UNAVAILABLE error frame, not INTERNAL', async () => {
    const { call, sent, tick } = setup();
    call.finish(eventStoreUnavailable('append', new Error('SQLITE_BUSY')));
    await tick();
    expect(sent.at(-1)).toMatchObject({ id: 'r', type: 'error', error: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    expect(JSON.stringify(sent.at(-1))).not.toContain('SQLITE_BUSY');
  });

  it('a settlement still being written says so in done: credits.pending', async () => {
    const { call, sent, tick } = setup();
    const done: CompletionDone = {
      provider: 'openai', model: 'gpt-4o-mini', usage: { inputTokens: 1, outputTokens: 2 }, ended: 'stopped', stopReason: 'streamMax',
      reservationId: 'h', held: 9, capped: false, charged: 3, balance: 97, available: 97, pending: true,
    };
    call.finish(E.right(done));
    await tick();
    expect(sent.at(-1)).toMatchObject({ id: 'r', type: 'done', ended: 'stopped', stopReason: 'streamMax', credits: { charged: 3, pending: true } });
  });
});
