import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { Request } from '@hapi/hapi';
import { whenResponseDone, type ResponseDone } from '../../../adapters/observability/responseDone.js';

/** A hapi request as whenResponseDone reads it: the response hapi holds, the times, and the raw Node response. */
const requestWith = (response: unknown, raw: Partial<{ headersSent: boolean; statusCode: number; writableFinished: boolean; destroyed: boolean }> = {}, responded = 0) => {
  const res = Object.assign(new EventEmitter(), { headersSent: false, statusCode: 200, writableFinished: false, destroyed: false, ...raw });
  const request = { response, info: { received: 1_000, responded }, raw: { res } } as unknown as Request;
  return { request, res };
};

const collect = (request: Request, now: () => number) => {
  const seen: ResponseDone[] = [];
  whenResponseDone(request, (done) => seen.push(done), now);
  return seen;
};

describe('whenResponseDone', () => {
  it('answers at once for a response hapi sent, plain or Boom', () => {
    expect(collect(requestWith({ statusCode: 201 }, {}, 1_040).request, () => 9_999)).toEqual([{ status: 201, durationMs: 40 }]);
    expect(collect(requestWith({ isBoom: true, output: { statusCode: 503 } }, {}, 1_005).request, () => 9_999)).toEqual([{ status: 503, durationMs: 5 }]);
    expect(collect(requestWith(null).request, () => 1_010)).toEqual([{ status: undefined, durationMs: 10 }]);
  });

  it('waits for an abandoned response to finish, then reports its raw status and whole duration once', () => {
    const { request, res } = requestWith(Symbol('abandon'), { headersSent: true, statusCode: 200 });
    let now = 1_003;
    const seen = collect(request, () => now);
    expect(seen).toEqual([]);
    now = 1_750;
    res.emit('finish');
    res.emit('close');
    expect(seen).toEqual([{ status: 200, durationMs: 750 }]);
  });

  it('reports a stream the client left (close without finish), and one that never sent a head', () => {
    const left = requestWith(Symbol('abandon'), { headersSent: true, statusCode: 200 });
    const seen = collect(left.request, () => 1_300);
    left.res.emit('close');
    expect(seen).toEqual([{ status: 200, durationMs: 300, cutShort: true }]);
    const headless = requestWith(Symbol('abandon'), { headersSent: false, destroyed: true });
    expect(collect(headless.request, () => 1_001)).toEqual([{ status: undefined, durationMs: 1, cutShort: true }]);
  });

  it('answers at once when the abandoned response already ended', () => {
    const { request } = requestWith(Symbol('abandon'), { headersSent: true, statusCode: 404, writableFinished: true });
    expect(collect(request, () => 1_020)).toEqual([{ status: 404, durationMs: 20 }]);
  });
});
