import { describe, expect, it } from '@jest/globals';
import type { ResumeLimits } from '../../../adapters/ws/resumeBuffer.js';
import { makeResumeBuffer } from '../../../adapters/ws/resumeBuffer.js';

const limits: ResumeLimits = { windowMs: 1_000, maxBytesPerUser: 10_000, maxRequestsPerUser: 4, maxBytesTotal: 100_000 };

const setup = (overrides: Partial<ResumeLimits> = {}) => {
  let now = 0;
  const buffer = makeResumeBuffer({ ...limits, ...overrides }, () => now);
  return { buffer, advance: (ms: number) => (now += ms) };
};

const seqsOf = (frames: readonly string[]) => frames.map((f) => (JSON.parse(f) as { seq: number }).seq);

describe('resume buffer', () => {
  it('numbers chunks from 1 and replays everything after a seq, then the terminal frame', () => {
    const { buffer } = setup();
    const log = buffer.open('u', 'r');
    const sent = ['a', 'b', 'c'].map((t) => buffer.chunk(log, t));
    expect(seqsOf(sent)).toEqual([1, 2, 3]);
    expect(buffer.replay(log, 1)).toEqual({ kind: 'frames', frames: sent.slice(1), terminal: undefined });
    buffer.end(log, '{"done":true}');
    expect(buffer.replay(log, 3)).toEqual({ kind: 'frames', frames: [], terminal: '{"done":true}' });
    expect(buffer.replay(log, 4)).toEqual({ kind: 'ahead', lastSeq: 3 });
  });

  it('finds a log only for its own user, until the window after its end has passed', () => {
    const { buffer, advance } = setup();
    const log = buffer.open('u', 'r');
    buffer.chunk(log, 'x');
    advance(5_000);
    expect(buffer.find('u', 'r')).toBe(log); // still running: kept whatever the time
    buffer.end(log, 'end');
    expect(buffer.find('other', 'r')).toBeUndefined();
    advance(999);
    expect(buffer.find('u', 'r')).toBe(log);
    advance(1);
    expect(buffer.find('u', 'r')).toBeUndefined();
    expect(buffer.size()).toEqual({ requests: 0, bytes: 0 });
  });

  it('with a window of 0, forgets a request as soon as it ends', () => {
    const { buffer } = setup({ windowMs: 0 });
    const log = buffer.open('u', 'r');
    buffer.chunk(log, 'x');
    buffer.end(log, 'end');
    expect(buffer.find('u', 'r')).toBeUndefined();
    expect(buffer.size()).toEqual({ requests: 0, bytes: 0 });
  });

  it('keeps at most maxRequestsPerUser logs, dropping the oldest ended ones', () => {
    const { buffer } = setup();
    for (const id of ['a', 'b', 'c', 'd']) buffer.end(buffer.open('u', id), 'end');
    buffer.open('u', 'e');
    expect(buffer.find('u', 'a')).toBeUndefined();
    expect(buffer.find('u', 'b')).toBeDefined();
    expect(buffer.size().requests).toBe(4);
  });

  it('over the byte bound, drops ended logs first, then the oldest chunks of the running one (a resume into the gap is refused)', () => {
    const { buffer } = setup({ maxBytesPerUser: 400 });
    const old = buffer.open('u', 'old');
    buffer.chunk(old, 'x'.repeat(100));
    buffer.end(old, 'end');
    const live = buffer.open('u', 'live');
    // Each frame is about 140 characters: four do not fit in 400, the last two do.
    for (let i = 0; i < 4; i++) buffer.chunk(live, 'y'.repeat(100));
    expect(buffer.find('u', 'old')).toBeUndefined();
    expect(buffer.find('u', 'live')).toBe(live);
    expect(buffer.size().bytes).toBeLessThanOrEqual(400);
    expect(live.firstSeq).toBe(3);
    expect(buffer.replay(live, 1)).toEqual({ kind: 'gap', firstSeq: 3 });
    const tail = buffer.replay(live, 2);
    expect(tail.kind).toBe('frames');
    if (tail.kind === 'frames') expect(seqsOf(tail.frames)).toEqual([3, 4]);
  });

  it('enforces the total bound across users, oldest ended first', () => {
    const { buffer } = setup({ maxBytesTotal: 300 });
    const a = buffer.open('a', 'r');
    buffer.chunk(a, 'x'.repeat(150));
    buffer.end(a, 'end');
    const b = buffer.open('b', 'r');
    buffer.chunk(b, 'y'.repeat(150));
    expect(buffer.find('a', 'r')).toBeUndefined();
    expect(buffer.find('b', 'r')).toBe(b);
    expect(buffer.size().bytes).toBeLessThanOrEqual(300);
  });

  it('reusing an id after the request ended starts a fresh log', () => {
    const { buffer } = setup();
    const first = buffer.open('u', 'r');
    buffer.chunk(first, 'one');
    buffer.end(first, 'end');
    const second = buffer.open('u', 'r');
    expect(second).not.toBe(first);
    expect(seqsOf([buffer.chunk(second, 'two')])).toEqual([1]);
    expect(buffer.size().requests).toBe(1);
  });
});
