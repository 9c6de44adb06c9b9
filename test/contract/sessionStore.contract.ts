import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { SessionStore } from '../../application/ports/sessionStore.js';

/**
 * The one SessionStore contract every adapter passes (in-process twin, Redis).
 * Time moves through `advance`: the twin's injected clock, or a real sleep for
 * Redis, whose TTLs run on the server's clock; TTLs here are short so that a
 * real sleep stays cheap.
 */
export type SessionStoreHarness = {
  readonly store: SessionStore;
  /** Lets `ms` of store time pass. */
  readonly advance: (ms: number) => Promise<void>;
  readonly close: () => Promise<void>;
};

export type SessionStoreFactory = () => Promise<SessionStoreHarness>;

const uniqueKey = (label: string) => `${label}-${randomUUID()}`;

const code = (n: number) => ({ sessionId: `session-${n}`, status: 'pending' as const });
const token = { sessionId: 'session-1', userId: 'user-1', expiresAt: 1_800_000_000_000 };
const oauth = { codeHash: 'c'.repeat(64), pkceVerifier: 'verifier-1', nonce: 'nonce-1' };

export const sessionStoreContract = (name: string, factory: SessionStoreFactory) => {
  describe(`SessionStore contract: ${name}`, () => {
    let h: SessionStoreHarness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h.close();
    });

    it('round-trips a value of each kind and answers undefined for a missing key', async () => {
      const k = uniqueKey('rt');
      await h.store.verificationCodes.put(k, { sessionId: 's1', status: 'authorized', userId: 'u1' }, 10_000);
      await h.store.oauthStates.put(k, oauth, 10_000);
      await h.store.sessionTokens.put(k, token, 10_000);
      expect(await h.store.verificationCodes.get(k)).toEqual({ sessionId: 's1', status: 'authorized', userId: 'u1' });
      expect(await h.store.oauthStates.get(k)).toEqual(oauth);
      expect(await h.store.sessionTokens.get(k)).toEqual(token);
      expect(await h.store.sessionTokens.get(uniqueKey('missing'))).toBeUndefined();
      expect(await h.store.sessionTokens.consume(uniqueKey('missing'))).toBeUndefined();
    });

    it('keeps namespaces apart: one key in two maps is two entries', async () => {
      const k = uniqueKey('ns');
      await h.store.oauthStates.put(k, oauth, 10_000);
      expect(await h.store.verificationCodes.get(k)).toBeUndefined();
      await h.store.verificationCodes.consume(k);
      expect(await h.store.oauthStates.get(k)).toEqual(oauth);
    });

    it('overwrites on put (pending -> authorized) and deletes on delete', async () => {
      const k = uniqueKey('ow');
      await h.store.verificationCodes.put(k, code(1), 10_000);
      await h.store.verificationCodes.put(k, { ...code(1), status: 'authorized', userId: 'u9' }, 10_000);
      expect(await h.store.verificationCodes.get(k)).toEqual({ sessionId: 'session-1', status: 'authorized', userId: 'u9' });
      await h.store.verificationCodes.delete(k);
      expect(await h.store.verificationCodes.get(k)).toBeUndefined();
      await h.store.verificationCodes.delete(k);
    });

    it('returns copies: mutating a value read back does not change the store', async () => {
      const k = uniqueKey('copy');
      const value = { ...token };
      await h.store.sessionTokens.put(k, value, 10_000);
      value.userId = 'mallory';
      const read = await h.store.sessionTokens.get(k);
      expect(read?.userId).toBe('user-1');
      if (read !== undefined) (read as { userId: string }).userId = 'mallory';
      expect((await h.store.sessionTokens.get(k))?.userId).toBe('user-1');
    });

    it('expires entries after their TTL, for get and consume alike', async () => {
      const a = uniqueKey('ttl-a');
      const b = uniqueKey('ttl-b');
      await h.store.sessionTokens.put(a, token, 500);
      await h.store.verificationCodes.put(b, code(2), 500);
      await h.advance(100);
      expect(await h.store.sessionTokens.get(a)).toEqual(token);
      await h.advance(450);
      expect(await h.store.sessionTokens.get(a)).toBeUndefined();
      expect(await h.store.verificationCodes.consume(b)).toBeUndefined();
    });

    it('a put restarts the TTL', async () => {
      const k = uniqueKey('ttl-reset');
      // Margins of 200 ms keep this stable on a busy machine with real sleeps (Redis).
      await h.store.oauthStates.put(k, oauth, 500);
      await h.advance(300);
      await h.store.oauthStates.put(k, oauth, 500);
      await h.advance(300);
      expect(await h.store.oauthStates.get(k)).toEqual(oauth);
      await h.advance(250);
      expect(await h.store.oauthStates.get(k)).toBeUndefined();
    });

    it('consume is single use: the value once, then undefined', async () => {
      const k = uniqueKey('once');
      await h.store.verificationCodes.put(k, code(3), 10_000);
      expect(await h.store.verificationCodes.consume(k)).toEqual(code(3));
      expect(await h.store.verificationCodes.consume(k)).toBeUndefined();
      expect(await h.store.verificationCodes.get(k)).toBeUndefined();
    });

    it('20 concurrent consumes of one key: exactly one gets the value', async () => {
      const k = uniqueKey('race');
      await h.store.sessionTokens.put(k, token, 10_000);
      const results = await Promise.all(Array.from({ length: 20 }, () => h.store.sessionTokens.consume(k)));
      expect(results.filter((r) => r !== undefined)).toEqual([token]);
    });

    it('refuses a TTL that is not a positive integer of ms', async () => {
      const k = uniqueKey('bad-ttl');
      for (const ttlMs of [0, -5, 1.5, Number.NaN]) {
        await expect(h.store.sessionTokens.put(k, token, ttlMs)).rejects.toThrow(RangeError);
        await expect(h.store.idempotency.putIfAbsent(k, 'h', ttlMs)).rejects.toThrow(RangeError);
      }
      expect(await h.store.sessionTokens.get(k)).toBeUndefined();
    });

    idempotencyContract(() => h);
  });
};

const dayMs = 24 * 60 * 60 * 1000;

const idempotencyContract = (harness: () => SessionStoreHarness) => {
  const response = { requestHash: 'hash-a', status: 201, body: { charged: 5, note: 'ünïcødé ✓', list: [1, null, true] } };

  it('idempotency: putIfAbsent reserves, in_progress for the next caller, completed replay after complete', async () => {
    const { store } = harness();
    const k = uniqueKey('idem');
    expect(await store.idempotency.putIfAbsent(k, 'hash-a', 60_000)).toEqual({ _tag: 'reserved' });
    expect(await store.idempotency.putIfAbsent(k, 'hash-b', 60_000)).toEqual({ _tag: 'in_progress', requestHash: 'hash-a' });
    await store.idempotency.complete(k, response, dayMs);
    expect(await store.idempotency.putIfAbsent(k, 'hash-a', 60_000)).toEqual({ _tag: 'completed', response });
    // A completed response survives release: only a reservation is released.
    await store.idempotency.release(k);
    expect(await store.idempotency.putIfAbsent(k, 'hash-c', 60_000)).toEqual({ _tag: 'completed', response });
  });

  it('idempotency: release frees a reservation for a retry', async () => {
    const { store } = harness();
    const k = uniqueKey('idem-release');
    expect((await store.idempotency.putIfAbsent(k, 'hash-a', 60_000))._tag).toBe('reserved');
    await store.idempotency.release(k);
    expect((await store.idempotency.putIfAbsent(k, 'hash-a', 60_000))._tag).toBe('reserved');
  });

  it('idempotency: a reservation expires (crashed owner); a completed response outlives it', async () => {
    const { store, advance } = harness();
    const crashed = uniqueKey('idem-crash');
    const done = uniqueKey('idem-done');
    await store.idempotency.putIfAbsent(crashed, 'hash-a', 200);
    await store.idempotency.putIfAbsent(done, 'hash-a', 200);
    await store.idempotency.complete(done, response, dayMs);
    await advance(350);
    expect((await store.idempotency.putIfAbsent(crashed, 'hash-a', 200))._tag).toBe('reserved');
    expect(await store.idempotency.putIfAbsent(done, 'hash-a', 200)).toEqual({ _tag: 'completed', response });
  });

  it('idempotency: 20 concurrent putIfAbsent on one key, exactly one is reserved', async () => {
    const { store } = harness();
    const k = uniqueKey('idem-race');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.idempotency.putIfAbsent(k, `hash-${i}`, 60_000)),
    );
    const reserved = results.filter((r) => r._tag === 'reserved');
    expect(reserved).toHaveLength(1);
    const winner = results.findIndex((r) => r._tag === 'reserved');
    for (const r of results) {
      if (r._tag !== 'reserved') expect(r).toEqual({ _tag: 'in_progress', requestHash: `hash-${winner}` });
    }
  });
};
