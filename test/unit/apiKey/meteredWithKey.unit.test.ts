import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { KeyPrincipal } from '../../../application/apiKeys/keys.js';
import { makeApiKeys } from '../../../application/apiKeys/keys.js';
import { estimateFor, makeMeteredWithKey } from '../../../application/apiKeys/meteredWithKey.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { makeMeteredCompletion } from '../../../application/gateway/meteredCompletion.js';
import { makeAccessControl } from '../../../application/permissions/access.js';
import { silentLogger } from '../../../application/ports/clock.js';
import type { ProviderCandidate } from '../../../application/ports/providerSelector.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { makeInProcessRateLimiter } from '../../../adapters/inprocess/inProcessRateLimiter.js';
import type { PriceSheet } from '../../../domain/pricing/priceSheet.js';
import { makeFakeProvider } from '../../support/fakeLlmProvider.js';
import { makeTestClock, makeTestIds } from '../application/testClock.js';

/** The key's hold wrapped around the unchanged metered completion: settle with the account's charge, release otherwise. */
const sheet: PriceSheet = {
  version: 'test-1',
  estimateMargin: { openai: { percent: 0, tokens: 0 }, claude: { percent: 0, tokens: 0 } },
  models: {
    'gpt-x': { provider: 'openai', inputPer1k: 1000, outputPer1k: 10_000, defaultMaxTokens: 10, maxOutputTokens: 100 },
    'claude-x': { provider: 'claude', inputPer1k: 1000, outputPer1k: 10_000, defaultMaxTokens: 10, maxOutputTokens: 100 },
  },
  video: {},
};

const setup = async () => {
  const store = makeMemoryEventStore();
  const clock = makeTestClock();
  const ids = makeTestIds();
  const ledger = makeLedger({ store, clock, ids });
  const access = makeAccessControl({ store, clock, ids });
  const openai = makeFakeProvider('openai', ['gpt-x'], { chunks: ['Hello', ' world', '!'], inputTokens: 4 });
  const claude = makeFakeProvider('claude', ['claude-x'], { chunks: ['Hi'], inputTokens: 4 });
  const select = (_p: unknown, model: string): ProviderCandidate[] =>
    model === 'gpt-x' ? [{ provider: openai, model: 'gpt-x' }, { provider: claude, model: 'claude-x' }] : [];
  const limiter = makeInProcessRateLimiter({ limits: { requests: 1000, tokens: 1_000_000, windowMs: 60_000 }, now: clock.now });
  const completion = makeMeteredCompletion({ ledger, access, limiter, select, prices: () => sheet, clock, ids, logger: silentLogger, holdTtlMs: 60_000 });
  let n = 0;
  const keys = makeApiKeys({ store, clock, ids, secrets: { random: () => `${'s'.repeat(40)}${String(++n).padStart(3, '0')}` } });
  const keyed = makeMeteredWithKey({ completion, keys, select, prices: () => sheet, limiter, ids, logger: silentLogger, holdTtlMs: 60_000 });
  const newKey = async (input: Omit<Parameters<typeof keys.create>[0], 'accountId'> = {}): Promise<KeyPrincipal> => {
    const created = await keys.create({ accountId: 'team', ...input });
    if (E.isLeft(created)) throw new Error(created.left._tag);
    const { keyId, accountId, models, rateLimits, limit } = created.right.key;
    return { keyId, accountId, models, rateLimits, limit };
  };
  const hold = estimateFor({ select, prices: () => sheet }, req)?.holdCredits ?? 0;
  return { store, ledger, keys, keyed, openai, claude, newKey, hold };
};

const req = { requestId: 'r-1', preference: 'auto' as const, model: 'gpt-x', messages: [{ role: 'user' as const, content: 'hi' }] };
const sink = { chunk: () => undefined };
const never = new AbortController().signal;

describe('metered completion through a key', () => {
  it('settles the key hold with exactly what the account was charged', async () => {
    const s = await setup();
    await s.ledger.grant({ accountId: 'team', grantId: 'g', amount: 10_000 });
    const key = await s.newKey({ limit: { credits: 1000, period: 'month' } });
    const outcome = await s.keyed.run(key, req, sink, never);
    expect(E.isRight(outcome)).toBe(true);
    const charged = E.isRight(outcome) ? outcome.right.charged : -1;
    expect(charged).toBeGreaterThan(0);
    const view = await s.keys.describe(key.keyId);
    expect(view).toMatchObject({ spentTotal: charged, spentInPeriod: charged, held: 0 });
  });

  it('holds the largest candidate hold, refuses past the key limit before touching the account', async () => {
    const s = await setup();
    await s.ledger.grant({ accountId: 'team', grantId: 'g', amount: 10_000 });
    expect(s.hold).toBeGreaterThan(0);
    const key = await s.newKey({ limit: { credits: s.hold - 1, period: 'total' } });
    const outcome = await s.keyed.run(key, req, sink, never);
    expect(outcome).toEqual(E.left({ _tag: 'KeyLimitReached', needed: s.hold, available: s.hold - 1 }));
    expect((await s.ledger.balance('team')).held).toBe(0);
    expect(s.openai.calls).toHaveLength(0);
  });

  it('releases the key hold when the account refuses or the providers fail, and refuses a model off the allow-list outright', async () => {
    const s = await setup();
    const key = await s.newKey({ limit: { credits: 1000, period: 'day' } });
    const poor = await s.keyed.run(key, req, sink, never);
    expect(E.isLeft(poor) && poor.left._tag).toBe('InsufficientCredits');
    expect(await s.keys.describe(key.keyId)).toMatchObject({ held: 0, spentTotal: 0 });

    await s.ledger.grant({ accountId: 'team', grantId: 'g', amount: 10_000 });
    s.openai.script = { chunks: [], failBefore: { _tag: 'ProviderUnavailable', retryable: true } };
    s.claude.script = { chunks: [], failBefore: { _tag: 'ProviderUnavailable', retryable: true } };
    const failed = await s.keyed.run(key, req, sink, never);
    expect(E.isLeft(failed) && failed.left._tag).toBe('ProviderUnavailable');
    expect(await s.keys.describe(key.keyId)).toMatchObject({ held: 0, spentTotal: 0 });

    const narrow = await s.newKey({ models: ['claude-x'] });
    expect(await s.keyed.run(narrow, req, sink, never)).toEqual(E.left({ _tag: 'ModelNotAllowed', model: 'gpt-x' }));
  });

  it('a key\'s own rate limit refuses before any hold', async () => {
    const s = await setup();
    await s.ledger.grant({ accountId: 'team', grantId: 'g', amount: 10_000 });
    const key = await s.newKey({ rateLimits: { requestsPerMin: 1, tokensPerMin: 1_000_000 } });
    expect(E.isRight(await s.keyed.run(key, req, sink, never))).toBe(true);
    const second = await s.keyed.run(key, { ...req, requestId: 'r-2' }, sink, never);
    expect(E.isLeft(second) && second.left._tag).toBe('RateLimited');
    expect((await s.keys.describe(key.keyId))?.held).toBe(0);
  });

  it('a revoked key takes no hold even when this process still has it cached as active', async () => {
    const s = await setup();
    await s.ledger.grant({ accountId: 'team', grantId: 'g', amount: 10_000 });
    const key = await s.newKey();
    await s.keys.revoke(key.keyId, 'leaked');
    expect(await s.keyed.run(key, req, sink, never)).toEqual(E.left({ _tag: 'KeyRevoked' }));
  });
});
