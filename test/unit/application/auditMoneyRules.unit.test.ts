import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { auditLedger } from '../../../application/audit.js';
import type { MoneyRule } from '../../../application/auditMoneyRules.js';
import { applyMoneyRules, finalMoneyRules, newMoneyTally } from '../../../application/auditMoneyRules.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { sealEvents } from '../../../application/integrity.js';
import type { RecordedEvent } from '../../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import type { CreditAccountEvent } from '../../../domain/creditAccount/index.js';
import { makeTestClock, makeTestIds } from './testClock.js';

const T = 1_700_000_000_000;
const opened: CreditAccountEvent = { type: 'AccountOpened', data: { accountId: 'a', at: T } };
const grant = (grantId: string, amount: number, expiresAt?: number): CreditAccountEvent => ({
  type: 'CreditsGranted',
  data: { grantId, amount, at: T, ...(expiresAt === undefined ? {} : { expiresAt }) },
});
const deduct = (deductionId: string, amount: number, at = T, allocation?: { grantId: string; amount: number }[]): CreditAccountEvent => ({
  type: 'CreditsDeducted',
  data: { deductionId, amount, service: 's', at, ...(allocation === undefined ? {} : { allocation }) },
});
const reserve = (reservationId: string, amount: number, expiresAt = T + 60_000, at = T): CreditAccountEvent => ({
  type: 'CreditsReserved',
  data: { reservationId, amount, expiresAt, at, purpose: { service: 'llm' } },
});
const settle = (reservationId: string, charged: number, released: number, at = T): CreditAccountEvent => ({
  type: 'ReservationSettled',
  data: { reservationId, charged, released, usage: {}, priceSheetVersion: 'v', at },
});
const progress = (reservationId: string, charged: number, expiresAt: number, at = T): CreditAccountEvent => ({
  type: 'ReservationProgressed',
  data: { reservationId, charged, usage: {}, priceSheetVersion: 'v', expiresAt, at },
});
const expireHold = (reservationId: string, amount: number, at: number, charged?: number): CreditAccountEvent => ({
  type: 'ReservationExpired',
  data: { reservationId, amount, at, ...(charged === undefined ? {} : { charged }) },
});
const refundD = (refundId: string, deductionId: string, amount: number): CreditAccountEvent => ({ type: 'DeductionRefunded', data: { refundId, deductionId, amount, at: T } });
const refundS = (refundId: string, reservationId: string, amount: number): CreditAccountEvent => ({ type: 'SettlementRefunded', data: { refundId, reservationId, amount, at: T } });
const grantExpired = (grantId: string, amount: number, at: number): CreditAccountEvent => ({ type: 'GrantExpired', data: { grantId, amount, at } });

/** The rules each event breaks, by position; the final whole-account rules under the key 'final'. */
const judge = (events: readonly CreditAccountEvent[]) => {
  const tally = newMoneyTally();
  const found: { at: number | 'final'; rule: MoneyRule }[] = [];
  events.forEach((e, i) => {
    for (const rule of applyMoneyRules(tally, e)) found.push({ at: i, rule });
  });
  for (const rule of finalMoneyRules(tally)) found.push({ at: 'final', rule });
  return found;
};

describe('audit money rules, from hand-forged histories', () => {
  it('an honest history breaks nothing', () => {
    expect(
      judge([
        opened,
        grant('promo', 50, T + 5_000),
        grant('paid', 100),
        deduct('d', 30, T, [{ grantId: 'promo', amount: 30 }]),
        refundD('f', 'd', 10),
        reserve('r', 40),
        progress('r', 10, T + 90_000),
        settle('r', 25, 15),
        refundS('fs', 'r', 5),
        grantExpired('promo', 10, T + 5_000),
      ]),
    ).toEqual([]);
  });

  it('issue 12: a correctly chained refund of 50,000 against a 90-credit deduction', () => {
    expect(judge([opened, grant('g', 100), deduct('d', 90), refundD('f', 'd', 50_000)])).toEqual([{ at: 3, rule: 'refund-exceeds-charge' }]);
  });

  it('refunds in total above their charge, of unknown charges, and reused refund ids', () => {
    expect(judge([opened, grant('g', 100), deduct('d', 90), refundD('f1', 'd', 60), refundD('f2', 'd', 31)])).toEqual([{ at: 4, rule: 'refund-exceeds-charge' }]);
    expect(judge([opened, grant('g', 100), refundD('f', 'nope', 1)])).toEqual([{ at: 2, rule: 'refund-unknown-charge' }]);
    expect(judge([opened, grant('g', 100), reserve('r', 10), refundS('f', 'r', 1)])).toEqual([{ at: 3, rule: 'refund-unknown-charge' }]);
    expect(judge([opened, grant('g', 100), reserve('r', 10), settle('r', 5, 5), refundS('f', 'r', 6)])).toEqual([{ at: 4, rule: 'refund-exceeds-charge' }]);
    expect(judge([opened, grant('g', 100), deduct('d', 50), refundD('f', 'd', 1), refundD('f', 'd', 1)])).toEqual([{ at: 4, rule: 'duplicate-refund-id' }]);
  });

  it('balance never negative and open holds never above it', () => {
    expect(judge([opened, grant('g', 10), deduct('d', 11)]).map((v) => v.rule)).toEqual(['overspent', 'balance-negative']);
    expect(judge([opened, grant('g', 10), reserve('r', 11)]).map((v) => v.rule)).toEqual(['overspent', 'holds-exceed-balance']);
  });

  it('ids unique per kind', () => {
    expect(judge([opened, grant('g', 10), grant('g', 10)])).toContainEqual({ at: 2, rule: 'duplicate-grant-id' });
    expect(judge([opened, grant('g', 10), deduct('d', 1), deduct('d', 1)])).toEqual([{ at: 3, rule: 'duplicate-deduction-id' }]);
    expect(judge([opened, grant('g', 10), reserve('r', 1), settle('r', 1, 0), reserve('r', 1)])).toEqual([{ at: 4, rule: 'duplicate-reservation-id' }]);
  });

  it('each hold resolved at most once and never over its amount', () => {
    const base = [opened, grant('g', 100), reserve('r', 40)];
    expect(judge([...base, settle('r', 10, 30), settle('r', 10, 30)])).toContainEqual({ at: 4, rule: 'hold-resolved-twice' });
    expect(judge([...base, settle('r', 41, 0)]).map((v) => v.rule)).toEqual(['charge-exceeds-hold', 'hold-split-mismatch']);
    expect(judge([...base, settle('r', 10, 20)]).map((v) => v.rule)).toEqual(['hold-split-mismatch']);
    expect(judge([opened, grant('g', 100), settle('x', 1, 0)]).map((v) => v.rule)).toEqual(['hold-unknown']);
    expect(judge([...base, { type: 'ReservationReleased', data: { reservationId: 'r', amount: 39, reason: 'x', at: T } }]).map((v) => v.rule)).toEqual(['hold-split-mismatch']);
    expect(judge([...base, expireHold('r', 40, T + 1)]).map((v) => v.rule)).toEqual(['hold-expired-early']);
  });

  it('progress never regresses, never exceeds the hold, and expiry charges exactly the last progress', () => {
    const base = [opened, grant('g', 100), reserve('r', 40), progress('r', 20, T + 90_000)];
    expect(judge([...base, progress('r', 19, T + 90_000)]).map((v) => v.rule)).toEqual(['progress-regressed']);
    expect(judge([...base, progress('r', 41, T + 90_000)]).map((v) => v.rule)).toEqual(['charge-exceeds-hold']);
    expect(judge([...base, settle('r', 19, 21)]).map((v) => v.rule)).toEqual(['progress-regressed']);
    expect(judge([...base, expireHold('r', 40, T + 90_000)]).map((v) => v.rule)).toEqual(['expiry-charge-mismatch']);
    expect(judge([...base, expireHold('r', 40, T + 90_000, 20)])).toEqual([]);
    expect(judge([...base, settle('r', 20, 20), progress('r', 30, T + 99_000)]).map((v) => v.rule)).toEqual(['hold-not-open']);
  });

  it('grant expiries: never early, never paid credit, never what is spent or held', () => {
    expect(judge([opened, grant('paid', 100), grantExpired('paid', 10, T + 1)]).map((v) => v.rule)).toEqual(['grant-expired-early']);
    expect(judge([opened, grant('promo', 100, T + 50), grantExpired('promo', 10, T + 49)]).map((v) => v.rule)).toEqual(['grant-expired-early']);
    expect(judge([opened, grant('promo', 100, T + 50), grantExpired('nope', 10, T + 50)]).map((v) => v.rule)).toEqual(['grant-unknown']);
    // Issue 10 case 1 as the old code wrote it: the promo's credit was promised to the hold, yet it "expired".
    const case1 = [opened, grant('promo', 100, T + 5_000), grant('paid', 100), reserve('r', 100), grantExpired('promo', 100, T + 6_000)];
    expect(judge(case1)).toContainEqual({ at: 4, rule: 'grant-overexpired' });
  });

  it('expired credit never spent after its expiry instant', () => {
    // Issue 10 case 2 as the old code wrote it: no sweep ran, and the deduction spent the expired promo.
    expect(judge([opened, grant('promo', 100, T + 5_000), deduct('d', 10, T + 8_000)]).map((v) => v.rule)).toEqual(['expired-credit-spent']);
    const allocated = [opened, grant('promo', 100, T + 5_000), grant('paid', 100), deduct('d', 10, T + 8_000, [{ grantId: 'promo', amount: 10 }])];
    expect(judge(allocated).map((v) => v.rule)).toEqual(['expired-credit-spent']);
    expect(judge([opened, grant('paid', 100), deduct('d', 10, T, [{ grantId: 'paid', amount: 9 }])]).map((v) => v.rule)).toContain('allocation-mismatch');
  });

  it('auditLedger names a forged, correctly chained over-refund', async () => {
    const store = makeMemoryEventStore();
    const ledger = makeLedger({ store, clock: makeTestClock(), ids: makeTestIds() });
    await ledger.grant({ accountId: 'v', grantId: 'g', amount: 100 });
    await ledger.deduct({ accountId: 'v', deductionId: 'd', amount: 90, service: 's' });
    const head: RecordedEvent[] = [];
    for await (const e of store.readStream('account-v')) head.push(e);
    const last = head[head.length - 1] as RecordedEvent;
    const { sealed } = sealEvents('account-v', last.revision + 1, last.metadata.hash, [refundD('f', 'd', 50_000)], T);
    expect(E.isRight(await store.appendToStream('account-v', sealed, last.revision)())).toBe(true);
    const report = await auditLedger(store);
    expect(report.violations).toEqual([{ _tag: 'InvariantBroken', streamName: 'account-v', revision: last.revision + 1, rule: 'refund-exceeds-charge' }]);
  });
});
