import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { openCheckpoint } from '../../../application/checkpoints/checkpoint.js';
import { parseVkey, type VerifierKey } from '../../../application/checkpoints/note.js';
import { verifyConsistency, verifyInclusion } from '../../../application/merkle/verify.js';
import { ed25519Verify } from '../../../adapters/ledger/ed25519.js';
import { json, makeKit, problemOf, type Kit } from './httpKit.js';

/** /api/ledger/* and the receipts on deduct and grant, through the real routes. */
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

describe('ledger routes and receipts', () => {
  let kit: Kit;
  let key: VerifierKey;
  beforeAll(async () => {
    kit = await makeKit({ env: { LEDGER_ORIGIN: 'routes.test/ledger' } });
    await kit.assignRole('root', 'admin');
    const response = await kit.inject({ method: 'GET', url: '/api/ledger/key' });
    expect(response.statusCode).toBe(200);
    const parsed = parseVkey(response.payload);
    if (E.isLeft(parsed)) throw new Error(parsed.left);
    key = parsed.right;
  });
  afterAll(() => kit.close());

  const checkpoint = async () => {
    await kit.app.ledgerLog.checkpointNow();
    const response = await kit.inject({ method: 'GET', url: '/api/ledger/checkpoint' });
    expect(response.headers['content-type']).toContain('text/plain');
    const opened = openCheckpoint(response.payload, key, ed25519Verify, 'routes.test/ledger');
    if (E.isLeft(opened)) throw new Error(opened.left);
    return opened.right;
  };

  it('answers grants and deductions with a receipt that a signed checkpoint proves', async () => {
    const before = await checkpoint();
    const granted = await kit.inject({ method: 'POST', url: '/api/credits/carol/grants', headers: await kit.as('root'), payload: { credits: 100 } });
    expect(granted.statusCode).toBe(201);
    const deducted = await kit.inject({
      method: 'POST',
      url: '/api/credits/deduct',
      headers: { ...(await kit.as('carol')), 'idempotency-key': 'receipt-test-1' },
      payload: { credits: 30, service: 'sora2' },
    });
    expect(deducted.statusCode).toBe(200);
    for (const response of [granted, deducted]) {
      const receipt = json(response)['receipt'] as { position: number; leafHash: string };
      expect(receipt.leafHash).toMatch(/^[0-9a-f]{64}$/);
      expect(await kit.app.ledgerLog.waitFor(receipt.position, 10_000)).toBe(true);
      const signed = await checkpoint();
      const proof = json(await kit.inject({ method: 'GET', url: `/api/ledger/proof/inclusion?position=${receipt.position}&size=${signed.size}` }));
      expect(proof['leafHash']).toBe(receipt.leafHash);
      const path = (proof['proof'] as string[]).map(bytes);
      expect(verifyInclusion(proof['leafIndex'] as number, signed.size, bytes(receipt.leafHash), path, signed.root)).toBe(true);
      expect(verifyInclusion(proof['leafIndex'] as number, signed.size, bytes('00'.repeat(32)), path, signed.root)).toBe(false);
    }
    const after = await checkpoint();
    const consistency = json(await kit.inject({ method: 'GET', url: `/api/ledger/proof/consistency?from=${before.size}&to=${after.size}` }));
    expect(verifyConsistency(before.size, after.size, before.root, after.root, (consistency['proof'] as string[]).map(bytes))).toBe(true);
  });

  it('repeats the same receipt for a replayed deduction', async () => {
    await kit.grant('dave', 50);
    const headers = { ...(await kit.as('dave')), 'idempotency-key': 'receipt-replay' };
    const first = json(await kit.inject({ method: 'POST', url: '/api/credits/deduct', headers, payload: { credits: 5, service: 'sora2' } }));
    const again = json(await kit.inject({ method: 'POST', url: '/api/credits/deduct', headers, payload: { credits: 5, service: 'sora2' } }));
    expect(again['receipt']).toEqual(first['receipt']);
  });

  it('answers 404 for what is not in the log and 400 for a malformed query', async () => {
    const size = kit.app.ledgerLog.size();
    problemOf(await kit.inject({ method: 'GET', url: `/api/ledger/proof/inclusion?position=${size + 5}` }), 404, 'not-in-log');
    problemOf(await kit.inject({ method: 'GET', url: `/api/ledger/proof/consistency?from=1&to=${size + 5}` }), 404, 'not-in-log');
    expect((await kit.inject({ method: 'GET', url: '/api/ledger/proof/inclusion?position=-1' })).statusCode).toBe(400);
    expect((await kit.inject({ method: 'GET', url: '/api/ledger/proof/consistency' })).statusCode).toBe(400);
  });
});
