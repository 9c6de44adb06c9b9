import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Kit } from './wsTestKit.js';
import { ask, eventually, startKit } from './wsTestKit.js';

/**
 * Thousands of random and malformed frames from a user without credits. The
 * server stays up, answers every frame with exactly one error frame (or
 * closes the socket, for bytes that are not UTF-8 and frames over the size
 * limit), and the ledger does not change.
 */
const SEED = 20_251_003;
const FRAMES = 3_000;

const templates = (i: number): Record<string, unknown>[] => [
  ask(`f${i}`, { provider: 'openai', maxTokens: 16 }),
  { id: `z${i}`, type: 'cancel' },
  { id: `z${i}`, type: 'resume', after: 3 },
];

/** A valid-looking frame with one field replaced (or added) by an arbitrary JSON value. */
const mutated = fc
  .tuple(fc.nat(), fc.nat(2), fc.constantFrom('id', 'type', 'model', 'messages', 'stream', 'maxTokens', 'temperature', 'provider', 'after', '__proto__', 'extra'), fc.jsonValue({ maxDepth: 3 }))
  .map(([i, which, key, value]) => {
    const frame = { ...templates(i)[which] };
    Object.defineProperty(frame, key, { value, enumerable: true, configurable: true, writable: true });
    return { text: JSON.stringify(frame) };
  });

const frameArb: fc.Arbitrary<{ text: string } | { binary: Uint8Array }> = fc.oneof(
  { weight: 3, arbitrary: mutated },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((text) => ({ text })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ text: JSON.stringify(v) ?? 'null' })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((binary) => ({ binary })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { text: '' },
      { text: 'null' },
      { text: '{"id":"n","type":"chat","model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true,"maxTokens":1e308}' },
      { text: '{"id":"n","type":"chat","model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":-0.0001}' },
      { text: `{"id":"deep","type":"chat","messages":${'['.repeat(5000)}${']'.repeat(5000)}}` },
      { text: '{"__proto__":{"polluted":true},"id":"p","type":"cancel"}' },
    ),
  },
);

describe('WebSocket gateway: fuzzed frames', () => {
  let kit: Kit;
  beforeAll(async () => {
    // The message budget is raised: this test sends 3000 frames at once on purpose (test/e2e/hostile covers the budget).
    kit = await startKit({
      env: { WS_MAX_PAYLOAD_BYTES: '65536', WS_MAX_INFLIGHT_PER_CONNECTION: '1000', WS_MESSAGE_BURST_PER_CONNECTION: '100000', WS_MESSAGE_BURST_PER_USER: '100000' },
    });
  });
  afterAll(() => kit.stop());

  it(`answers each of ${FRAMES} random frames with one error frame, stays up, and writes nothing`, async () => {
    await kit.grant('bystander', 10_000);
    const before = await kit.eventCount();
    const socket = await kit.open('fuzzer');
    const frames = fc.sample(frameArb, { seed: SEED, numRuns: FRAMES });
    for (const frame of frames) {
      if ('binary' in frame) socket.ws.send(frame.binary, { binary: true });
      else socket.ws.send(frame.text);
    }
    await eventually(() => socket.frames.length >= FRAMES, 20_000, `${FRAMES} answers`);
    expect(socket.frames).toHaveLength(FRAMES);
    expect(socket.frames.every((f) => f.type === 'error')).toBe(true);
    const codes = new Set(socket.frames.map((f) => f.error?.code));
    expect([...codes].every((c) => ['INVALID_REQUEST', 'INSUFFICIENT_CREDITS', 'RATE_LIMIT_EXCEEDED', 'RESUME_UNAVAILABLE'].includes(String(c)))).toBe(true);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    await eventually(() => kit.ws.stats().inFlight === 0);
    expect(await kit.eventCount()).toBe(before);

    // Still serving: a normal user gets a normal answer.
    const other = await kit.open('bystander');
    other.send(ask('after-fuzz', { provider: 'openai' }));
    expect((await other.result('after-fuzz')).end.type).toBe('done');
  });

  it('closes with 1007 on a text frame that is not UTF-8 and 1009 over the size limit; other sockets are unaffected', async () => {
    const bystander = await kit.open('steady');
    const bad = await kit.open('fuzzer-utf8');
    bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await bad.closed).code).toBe(1007);
    const big = await kit.open('fuzzer-big');
    big.ws.send('x'.repeat(70_000));
    expect((await big.closed).code).toBe(1009);
    bystander.send({ id: 'still-here', type: 'cancel' });
    expect((await bystander.next((f) => f.id === 'still-here')).error?.code).toBe('INVALID_REQUEST');
  });
});
