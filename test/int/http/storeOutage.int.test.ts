import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { history } from '../../../application/credits/queries.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import type { FailingStore } from '../../support/failingStore.js';
import { makeFailingStore } from '../../support/failingStore.js';
import type { Kit } from './httpKit.js';
import { json, makeKit, problemOf } from './httpKit.js';

/**
 * Case 9 of issue 10: an event-store outage is a retryable 503 problem with
 * Retry-After (it was a 500), and a retry after the store is back writes
 * nothing twice, even when the failed append had in fact committed.
 */
let kit: Kit;
let failing: FailingStore;

beforeAll(async () => {
  failing = makeFailingStore(makeMemoryEventStore());
  kit = await makeKit({ overrides: { store: failing } });
});
afterAll(async () => kit.close());

const deduct = async (userId: string, key: string) =>
  kit.inject({ method: 'POST', url: '/api/credits/deduct', payload: { credits: 4, service: 'llm' }, headers: { ...(await kit.as(userId)), 'idempotency-key': key } });

describe('event store outages on REST', () => {
  it('answers 503 event-store-unavailable with Retry-After while reads fail, and serves again once the store is back', async () => {
    await kit.grant('olga', 50);
    kit.app.ledger.handler.forget('account-olga');
    failing.down();
    try {
      const response = await kit.inject({ method: 'GET', url: '/api/credits/olga', headers: await kit.as('olga') });
      const body = problemOf(response, 503, 'event-store-unavailable');
      expect(response.headers['retry-after']).toBe('2');
      expect(JSON.stringify(body)).not.toContain('ECONNREFUSED');
    } finally {
      failing.up();
    }
    expect(json(await kit.inject({ method: 'GET', url: '/api/credits/olga', headers: await kit.as('olga') }))).toMatchObject({ balance: 50 });
  });

  it('a deduct whose append committed but whose answer was lost is 503, and its retry charges once', async () => {
    await kit.grant('pavel', 50);
    failing.failNext('appendAfterCommit', 1, (stream, types) => stream === 'account-pavel' && types.includes('CreditsDeducted'));
    const first = await deduct('pavel', 'pay-1');
    problemOf(first, 503, 'event-store-unavailable');
    expect(first.headers['retry-after']).toBeDefined();
    const retry = await deduct('pavel', 'pay-1');
    expect(retry.statusCode).toBe(200);
    expect(json(retry)).toMatchObject({ balance: 46 });
    const deducted = (await history(kit.app.store, 'pavel')).items.filter((e) => e.type === 'CreditsDeducted');
    expect(deducted).toHaveLength(1);
  });
});
