import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeApiKeys } from '../../../application/apiKeys/keys.js';
import { openEventStore } from '../../../adapters/eventstore/fromUrl.js';
import { systemClock, systemIds } from '../../../adapters/system/clockAndIds.js';
import { cryptoSecrets } from '../../../adapters/system/secrets.js';
import { runCli } from '../../support/runCli.js';

/** `ledger keys create|list|revoke` on a SQLite store, checked against the key use cases reading the same store. */
const dir = mkdtempSync(join(tmpdir(), 'keys-cli-'));
const env = { EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}` };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ledger keys', () => {
  it('creates a key (secret printed once, in the JSON), lists it without the secret, and revokes it', async () => {
    const created = await runCli(['keys', 'create', 'team-a', '--limit', '5000', '--period', 'day', '--models', 'gpt-4o,claude-haiku-4-5', '--json'], env);
    expect(created.code).toBe(0);
    const body = JSON.parse(created.stdout) as { secret: string; keyId: string; limit: unknown; models: string[] };
    expect(body.secret).toMatch(/^clg_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    expect(body.limit).toEqual({ credits: 5000, period: 'day' });
    expect(body.models).toEqual(['gpt-4o', 'claude-haiku-4-5']);

    const listed = await runCli(['keys', 'list', 'team-a', '--json'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(body.secret.slice(29));
    expect((JSON.parse(listed.stdout) as { keys: { keyId: string }[] }).keys.map((k) => k.keyId)).toEqual([body.keyId]);

    const store = await openEventStore(env.EVENT_STORE);
    try {
      const keys = makeApiKeys({ store, clock: systemClock, ids: systemIds, secrets: cryptoSecrets });
      expect(E.isRight(await keys.authenticate(body.secret))).toBe(true);
      const revoked = await runCli(['keys', 'revoke', body.keyId], env);
      expect(revoked.code).toBe(0);
      expect(await keys.authenticate(body.secret)).toEqual(E.left(expect.objectContaining({ _tag: 'KeyRevoked' })));
    } finally {
      await store.close();
    }
    expect((await runCli(['keys', 'create', 'team-a', '--limit', '-3'], env)).code).toBe(2);
  }, 60_000);
});
