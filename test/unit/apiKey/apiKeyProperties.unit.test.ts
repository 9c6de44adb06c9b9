import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { ApiKeyCommand, ApiKeyEvent, ApiKeyState, LimitPeriod } from '../../../domain/apiKey/index.js';
import { ApiKeyEvent as EventCodec, apiKeyDecider, periodStart } from '../../../domain/apiKey/index.js';
import { fold } from '../../../domain/shared/decider.js';

/** Properties of the key's limit over any sequence of hold commands at any instants. */

const t0 = Date.UTC(2026, 2, 30, 20, 0, 0);
const dayMs = 86_400_000;
const at = fc.integer({ min: t0, max: t0 + 40 * dayMs });
const id = fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5', 'r6');

const command: fc.Arbitrary<ApiKeyCommand> = fc.oneof(
  fc.record({ type: fc.constant('PlaceKeyHold' as const), reservationId: id, amount: fc.integer({ min: 1, max: 120 }), at, expiresAt: fc.constant(0) }).map((c) => ({ ...c, expiresAt: c.at + 3_600_000 })),
  fc.record({ type: fc.constant('SettleKeyHold' as const), reservationId: id, charge: fc.integer({ min: 0, max: 120 }), at }),
  fc.record({ type: fc.constant('ReleaseKeyHold' as const), reservationId: id, reason: fc.constant('done'), at }),
  fc.record({ type: fc.constant('ExpireKeyHolds' as const), at }),
  fc.record({ type: fc.constant('RevokeKey' as const), reason: fc.constant('x'), at }),
);

type Run = { state: ApiKeyState; events: ApiKeyEvent[] };

const run = (period: LimitPeriod, limit: number, commands: readonly ApiKeyCommand[]): Run => {
  const created = apiKeyDecider.decide(
    { type: 'CreateKey', keyId: 'k', accountId: 'a', secretHash: 'a'.repeat(64), prefix: 'clg_k', limit: { credits: limit, period }, at: t0 },
    apiKeyDecider.initialState,
  );
  if (E.isLeft(created)) throw new Error('create failed');
  const result: Run = { state: fold(apiKeyDecider, created.right), events: [...created.right] };
  for (const c of commands) {
    const decision = apiKeyDecider.decide(c, result.state);
    if (E.isLeft(decision)) continue;
    for (const event of decision.right) {
      result.events.push(event);
      result.state = apiKeyDecider.evolve(result.state, event);
    }
  }
  return result;
};

const scenario = fc.tuple(fc.constantFrom<LimitPeriod>('total', 'day', 'month'), fc.integer({ min: 1, max: 300 }), fc.array(command, { maxLength: 40 }));

describe('ApiKey properties', () => {
  it('spent in any period never exceeds the limit, and spent + open holds never does at placement', () => {
    fc.assert(
      fc.property(scenario, ([period, limit, cs]) => {
        const { events } = run(period, limit, cs);
        const holds = new Map<string, { amount: number; period: number }>();
        const spent = new Map<number, number>();
        const open = new Set<string>();
        for (const event of events) {
          if (event.type === 'KeyHoldPlaced') {
            const p = event.data.periodStart;
            expect(p).toBe(Math.max(p, periodStart(period, event.data.at)));
            holds.set(event.data.reservationId, { amount: event.data.amount, period: p });
            let held = event.data.amount;
            for (const o of open) held += holds.get(o)?.amount ?? 0;
            expect((spent.get(p) ?? 0) + held).toBeLessThanOrEqual(limit);
            open.add(event.data.reservationId);
          } else if (event.type === 'KeyHoldSettled') {
            const hold = holds.get(event.data.reservationId);
            expect(hold).toBeDefined();
            expect(open.has(event.data.reservationId)).toBe(true);
            if (hold === undefined) continue;
            expect(event.data.charged).toBeLessThanOrEqual(hold.amount);
            spent.set(hold.period, (spent.get(hold.period) ?? 0) + event.data.charged);
            open.delete(event.data.reservationId);
          } else if (event.type === 'KeyHoldReleased' || event.type === 'KeyHoldExpired') {
            open.delete(event.data.reservationId);
          }
        }
        for (const value of spent.values()) expect(value).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 400 },
    );
  });

  it('replaying the stored (JSON, decoded) events reproduces the live state', () => {
    fc.assert(
      fc.property(scenario, ([period, limit, cs]) => {
        const { state, events } = run(period, limit, cs);
        const decoded = events.map((e) => {
          const d = EventCodec.decode(JSON.parse(JSON.stringify(e)));
          if (E.isLeft(d)) throw new Error(`emitted event does not decode: ${JSON.stringify(e)}`);
          return d.right;
        });
        expect(fold(apiKeyDecider, decoded)).toEqual(state);
      }),
      { numRuns: 200 },
    );
  });
});
