import { describe, expect, it } from '@jest/globals';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { checkAll, type Bounds } from './checks.js';
import { foldAccount, type HistoryItem } from './fold.js';
import type { Records, StreamRecord } from './workload.js';

/** The simulation's judges on hand-made histories: each finding fires on its case and stays quiet on an honest one. */

const bounds: Bounds = { sweepMs: 1_000, progressMs: 1_000, progressSlackMs: 500, slackMs: 2_000, outputPer1k: () => 1000 };
let revision = 0;
const ev = (type: string, data: Record<string, unknown>): HistoryItem => ({ revision: revision, position: revision++, type, data });
const noRecords = (): Records => ({ streams: [], rest: [], cli: [] });
const judge = (items: HistoryItem[], records: Records = noRecords(), endedAt = 100_000) =>
  checkAll({ records, folds: [foldAccount('a', items)], bounds, outages: [], endedAt, audit: { ok: true, detail: '' } }).map((f) => f.kind);

const stream = (id: string, text: string[], extra: Partial<StreamRecord> = {}): StreamRecord => ({
  kind: 'stream',
  id,
  account: 'a',
  mode: 'full',
  stopAfter: 99,
  maxTokens: 100,
  instance: 'w0',
  startedAt: 0,
  chunks: text.map((data, i) => ({ t: 1_000 + i * 100, data })),
  ...extra,
});
const reserved = (id: string, requestId: string, amount: number, expiresAt: number, at = 1_000) =>
  ev('CreditsReserved', { reservationId: id, amount, expiresAt, at, purpose: { service: 'llm', model: 'gpt-4o', requestId } });

describe('simulation checks', () => {
  it('an honest history has no finding', () => {
    const text = [' ledger', ' river', ' stone'];
    const tokens = countTokens(text.join(''));
    const items = [
      ev('CreditsGranted', { grantId: 'g', amount: 100, at: 0 }),
      reserved('r1', 'req1', 50, 5_000),
      ev('ReservationSettled', { reservationId: 'r1', charged: tokens + 2, released: 48 - tokens, usage: {}, priceSheetVersion: 'v', at: 2_000 }),
      ev('CreditsDeducted', { deductionId: 'd1', amount: 10, service: 'sim-rest', sessionId: 'k1', at: 3_000 }),
    ];
    const records = noRecords();
    records.streams.push(stream('req1', text, { done: { charged: tokens + 2, outputTokens: tokens, inputTokens: 5, ended: 'completed', raw: {} } }));
    records.rest.push({ kind: 'rest-deduct', key: 'k1', account: 'a', credits: 10, answers: [{ instance: 'w0', status: 200, at: 3_000, replayed: false, body: {} }] });
    expect(judge(items, records)).toEqual([]);
  });

  it('finds a balance or available credit below zero', () => {
    expect(judge([ev('CreditsGranted', { grantId: 'g', amount: 10, at: 0 }), ev('CreditsDeducted', { deductionId: 'd', amount: 11, service: 'x', at: 1 })])).toContain('negative-balance');
    const overHeld = [ev('CreditsGranted', { grantId: 'g', amount: 10, at: 0 }), reserved('r', 'q', 8, 5_000, 1), ev('CreditsDeducted', { deductionId: 'd', amount: 5, service: 'x', at: 2 })];
    expect(judge(overHeld, noRecords(), 3_000)).toEqual(['negative-available']);
  });

  it('finds output that was delivered and not charged, and allows a killed stream its last progress interval', () => {
    const text = Array.from({ length: 20 }, () => ' ledger');
    const expiredFree = [ev('CreditsGranted', { grantId: 'g', amount: 100, at: 0 }), reserved('r', 'req', 50, 5_000), ev('ReservationExpired', { reservationId: 'r', amount: 50, at: 5_500 })];
    const records = noRecords();
    records.streams.push(stream('req', text));
    expect(judge(expiredFree, records)).toEqual(['free-output']);
    // Killed after the last chunk: only what arrived in the last 1.5 s may go unpaid; progress charged the rest.
    const killed = noRecords();
    killed.streams.push(stream('req', text, { killedAt: 1_000 + 19 * 100 + 50 }));
    const paidUpToProgress = [
      ev('CreditsGranted', { grantId: 'g', amount: 100, at: 0 }),
      reserved('r', 'req', 50, 5_000),
      ev('ReservationProgressed', { reservationId: 'r', charged: 5, usage: {}, priceSheetVersion: 'v', expiresAt: 6_000, at: 1_500 }),
      ev('ReservationExpired', { reservationId: 'r', amount: 50, charged: 5, at: 6_500 }),
    ];
    expect(judge(paidUpToProgress, killed)).toEqual([]);
    const unpaid = paidUpToProgress.slice(0, 3).concat(ev('ReservationExpired', { reservationId: 'r', amount: 50, at: 6_500 }));
    expect(judge(unpaid, killed)).toEqual(['free-output']);
  });

  it('allows a stream whose settle was pending through an outage when its process died the output delivered during that outage, and no more', () => {
    const text = Array.from({ length: 10 }, () => ' ledger'); // chunks at t = 1000..1900
    const expired = [ev('CreditsGranted', { grantId: 'g', amount: 100, at: 0 }), reserved('r', 'req', 50, 5_000), ev('ReservationExpired', { reservationId: 'r', amount: 50, at: 9_500 })];
    const judgeWith = (outages: { startedAt: number; endedAt: number }[], rec: StreamRecord) => {
      const records = noRecords();
      records.streams.push(rec);
      return checkAll({ records, folds: [foldAccount('a', expired)], bounds, outages, endedAt: 100_000, audit: { ok: true, detail: '' } }).map((f) => f.kind);
    };
    const pendingDone = { charged: 12, outputTokens: 10, inputTokens: 2, ended: 'completed', raw: { credits: { charged: 12, pending: true } } };
    const lost = stream('req', text, { done: pendingDone, pendingKilledAt: 8_000 });
    // The whole stream ran during the outage: nothing of it could be recorded, within the bound.
    expect(judgeWith([{ startedAt: 900, endedAt: 9_000 }], lost)).toEqual([]);
    // Output from one progress interval (+ slack) before the outage on could not be recorded either.
    expect(judgeWith([{ startedAt: 2_400, endedAt: 9_000 }], lost)).toEqual([]);
    // The outage began well after the stream: its output was owed and recordable, so it is a finding.
    expect(judgeWith([{ startedAt: 5_000, endedAt: 9_000 }], lost)).toEqual(['free-output']);
    // Its done (pending) reached the client just after the kill that took the settle: the same bound.
    expect(judgeWith([{ startedAt: 900, endedAt: 9_000 }], stream('req', text, { done: pendingDone, killedAt: 2_000 }))).toEqual([]);
    // Not killed: the pending settle must land, whatever the outage.
    expect(judgeWith([{ startedAt: 900, endedAt: 9_000 }], stream('req', text, { done: pendingDone }))).toEqual(['free-output', 'done-mismatch']);
  });

  it('allows a stream killed during an outage before its client had done (the settle still trying) the output from one interval before the outage on', () => {
    const text = Array.from({ length: 10 }, () => ' ledger'); // chunks at t = 1000..1900
    const expired = [ev('CreditsGranted', { grantId: 'g', amount: 100, at: 0 }), reserved('r', 'req', 50, 5_000), ev('ReservationExpired', { reservationId: 'r', amount: 50, at: 7_500 })];
    const judgeWith = (outages: { startedAt: number; endedAt: number }[], killedAt: number) => {
      const records = noRecords();
      records.streams.push(stream('req', text, { killedAt }));
      return checkAll({ records, folds: [foldAccount('a', expired)], bounds, outages, endedAt: 100_000, audit: { ok: true, detail: '' } }).map((f) => f.kind);
    };
    // The outage began as the stream ended; the kill came 2 s into it, long after the last chunk.
    expect(judgeWith([{ startedAt: 1_900, endedAt: 9_000 }], 3_900)).toEqual([]);
    // Without an outage the same kill leaves only its last interval unpaid: the stream's output was recordable.
    expect(judgeWith([], 3_900)).toEqual(['free-output']);
    // An outage that began after the kill changes nothing.
    expect(judgeWith([{ startedAt: 4_000, endedAt: 9_000 }], 3_900)).toEqual(['free-output']);
    // Chunks read just after the kill were sent before it: within the last interval, not a finding.
    expect(judgeWith([], 1_500)).toEqual([]);
  });

  it('finds a hold closed later than its last expiry plus one sweep, and one never closed', () => {
    const late = [ev('CreditsGranted', { grantId: 'g', amount: 100, at: 0 }), reserved('r', 'q', 50, 5_000), ev('ReservationExpired', { reservationId: 'r', amount: 50, at: 9_000 })];
    expect(judge(late)).toEqual(['leaked-hold']);
    const extended = [...late.slice(0, 2), ev('ReservationProgressed', { reservationId: 'r', charged: 0, usage: {}, priceSheetVersion: 'v', expiresAt: 8_000, at: 4_000 }), late[2] as HistoryItem];
    expect(judge(extended)).toEqual([]);
    expect(judge(late.slice(0, 2), noRecords(), 20_000)).toEqual(['leaked-hold']);
  });

  it('finds a repeated Idempotency-Key charged twice, and a 200 with no deduction', () => {
    const twice = [
      ev('CreditsGranted', { grantId: 'g', amount: 100, at: 0 }),
      ev('CreditsDeducted', { deductionId: 'd1', amount: 10, service: 'sim-rest', sessionId: 'k', at: 1 }),
      ev('CreditsDeducted', { deductionId: 'd2', amount: 10, service: 'sim-rest', sessionId: 'k', at: 2 }),
    ];
    const records = noRecords();
    records.rest.push({ kind: 'rest-deduct', key: 'k', account: 'a', credits: 10, answers: [{ instance: 'w0', status: 200, at: 1, replayed: false, body: {} }] });
    expect(judge(twice, records)).toEqual(['duplicate-charge']);
    expect(judge(twice.slice(0, 1), records)).toEqual(['lost-write']);
  });

  it('lists an event it does not know instead of skipping it', () => {
    expect(judge([ev('SomethingNew', { at: 1 })])).toEqual(['unknown-event']);
  });
});
