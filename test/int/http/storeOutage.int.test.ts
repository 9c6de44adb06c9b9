import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { capturingLogger } from '../../support/logCapture.js';
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
const { lines, logger } = capturingLogger();

beforeAll(async () => {
  failing = makeFailingStore(makeMemoryEventStore());
  kit = await makeKit({ overrides: { store: failing }, logger });
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
      // The client is not told the driver's reason; the operator is, on the request's own line, as a warning.
      const line = lines.find((l) => l['msg'] === 'request' && l['requestId'] === response.headers['x-request-id']);
      expect(line).toMatchObject({ level: 40, status: 503, userId: 'olga' });
      expect(String(line?.['err'])).toMatch(/^event store unavailable during readStream: connect ECONNREFUSED \(simulated readStream failure\)/);
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

describe('event store outages on the compatible APIs', () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 };
  const holdFails = (userId: string) => failing.failNext('append', 1, (stream, types) => stream === `account-${userId}` && types.includes('CreditsReserved'));

  it('OpenAI API, plain and streamed: 503 service_unavailable with Retry-After (the SDKs retry it), the reason in the log only', async () => {
    await kit.grant('quinn', 1_000_000);
    for (const stream of [false, true]) {
      holdFails('quinn');
      const response = await kit.inject({ method: 'POST', url: '/v1/chat/completions', headers: await kit.as('quinn'), payload: { ...body, stream } });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('2');
      expect(response.headers['x-should-retry']).toBeUndefined();
      expect(JSON.parse(response.payload)).toEqual({ error: { message: 'The ledger is unavailable; try again shortly.', type: 'server_error', param: null, code: 'service_unavailable' } });
      expect(response.payload).not.toContain('ECONNREFUSED');
    }
    const warned = lines.filter((l) => l['msg'] === 'compatible completion refused: a store is unavailable');
    expect(warned.length).toBeGreaterThanOrEqual(2);
    expect(String(warned.at(-1)?.['err'])).toContain('simulated append failure');
    expect(lines.some((l) => l['msg'] === 'compatible completion failed unexpectedly')).toBe(false);
    // Once the store answers, the same request is served.
    const served = await kit.inject({ method: 'POST', url: '/v1/chat/completions', headers: await kit.as('quinn'), payload: body });
    expect(served.statusCode).toBe(200);
  });

  it('Anthropic API: 529 overloaded_error with Retry-After', async () => {
    await kit.grant('rhea', 1_000_000);
    holdFails('rhea');
    const response = await kit.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: await kit.as('rhea'),
      payload: { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(response.statusCode).toBe(529);
    expect(response.headers['retry-after']).toBe('2');
    expect(JSON.parse(response.payload)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'The ledger is unavailable; try again shortly.' } });
  });
});
