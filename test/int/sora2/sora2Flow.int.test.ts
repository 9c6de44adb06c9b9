import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { sha256Hex } from '../../../application/signin/secrets.js';
import { videoCharge } from '../../../domain/pricing/charge.js';
import { accountStream } from '../../../domain/creditAccount/index.js';
import { describeWithRedis } from '../../support/services.js';
import type { Bench } from './sora2TestKit.js';
import { bodyOf, callback, confirmationForm, eventsOf, exchange, generate, getJob, grant, publicUrl, signIn, signInSteps, startBench, streamsOf, typesOf, userId } from './sora2TestKit.js';

/**
 * The Sora 2 flow through hapi's server.inject: sign-in against the local
 * OpenID issuer, session exchange, generation against the videos API fixture
 * through the real openai SDK, polling to the end, settlement and download.
 */
let bench: Bench;

const sessionStreamOf = async (): Promise<string> => {
  const names = [...(await streamsOf(bench.store))].filter((n) => n.startsWith('session-'));
  if (names.length !== 1) throw new Error(`expected one session stream, got ${names.join(', ')}`);
  return names[0] as string;
};

describe('Sora 2 sign-in against phishing', () => {
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(() => bench.close());

  it('a link sent by someone else buys them nothing: opening it starts no sign-in, and "This was not me" ends it for good', async () => {
    // The attacker starts a sign-in and sends its link to a victim.
    const start = await bench.server.inject({ method: 'POST', url: '/api/sora2/auth/start', payload: { clientName: 'Totally Legit GPT' } });
    const { deviceCode, verificationUriComplete } = bodyOf<{ deviceCode: string; verificationUriComplete: string }>(start);
    const link = new URL(verificationUriComplete);
    const opened = await bench.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(opened.statusCode).toBe(200);
    expect(opened.payload).toContain('Did you start this sign-in?');
    expect(opened.payload).toContain('Totally Legit GPT');
    // Following the link (every GET a browser or a mail scanner makes) reaches no identity provider.
    expect(opened.headers['location']).toBeUndefined();
    expect(bench.issuer.authorizeRequests()).toHaveLength(0);
    expect((await exchange(bench, deviceCode)).statusCode).toBe(409);

    // Another site auto-posting the confirmation, without the page's same-site cookie, is refused.
    const form = confirmationForm(opened.payload);
    const forged = await bench.server.inject({
      method: 'POST',
      url: '/api/sora2/auth/device/confirm',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `user_code=${encodeURIComponent(form.userCode)}&csrf=${encodeURIComponent(form.csrf)}`,
    });
    expect(forged.statusCode).toBe(403);
    expect(bench.issuer.authorizeRequests()).toHaveLength(0);

    // The victim says it was not them: the attacker's device code is dead.
    const cookie = String(opened.headers['set-cookie'] ?? '').split(';')[0] ?? '';
    const denied = await bench.server.inject({
      method: 'POST',
      url: '/api/sora2/auth/device/deny',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `user_code=${encodeURIComponent(form.userCode)}&csrf=${encodeURIComponent(form.csrf)}`,
    });
    expect(denied.statusCode).toBe(200);
    expect((await exchange(bench, deviceCode)).statusCode).toBe(404);
    const reopened = await bench.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(reopened.statusCode).toBe(404);
  });

  it('never accepts the secret in a URL: the old link and query exchange are gone', async () => {
    const { deviceCode } = bodyOf<{ deviceCode: string }>(await bench.server.inject({ method: 'POST', url: '/api/sora2/auth/start' }));
    expect((await bench.server.inject({ method: 'GET', url: `/api/sora2/auth/google?code=${deviceCode}` })).statusCode).toBe(404);
    expect([404, 405]).toContain((await bench.server.inject({ method: 'GET', url: `/api/sora2/auth/session?code=${deviceCode}` })).statusCode);
  });
});

describe('Sora 2 flow', () => {
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(() => bench.close());

  it('signs in, holds before the provider call, polls to completed, settles the sheet price once, and serves the video', async () => {
    const steps = await signInSteps(bench);
    expect(steps.start.statusCode).toBe(201);
    const started = bodyOf<{ deviceCode: string; userCode: string; verificationUriComplete: string; expiresAt: string }>(steps.start);
    expect(started.deviceCode).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(started.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    // The link carries only the user code: the secret that buys the session never travels in a URL.
    expect(started.verificationUriComplete).toBe(`${publicUrl}/api/sora2/auth/device?user_code=${started.userCode}`);
    expect(started.verificationUriComplete).not.toContain(started.deviceCode);
    expect(Date.parse(started.expiresAt) - bench.clock.now()).toBe(15 * 60 * 1000);
    expect(steps.confirmPage.payload).toContain('Test GPT');
    expect(steps.confirmPage.payload).toContain(started.userCode);
    expect(steps.toGoogle.statusCode).toBe(303);
    const authorize = new URL(steps.authorizeUrl);
    expect(authorize.origin).toBe(bench.issuer.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${publicUrl}/api/sora2/auth/callback`);
    expect(steps.callbackUrl.startsWith(`${publicUrl}/api/sora2/auth/callback?`)).toBe(true);

    const back = await callback(bench, steps.callbackUrl);
    expect(back.statusCode).toBe(200);
    expect(back.headers['content-type']).toContain('text/html');
    expect(back.payload).toContain('Return to the GPT');
    const session = await exchange(bench, steps.code);
    expect(session.statusCode).toBe(200);
    const { sessionToken, expiresAt, tokenType } = bodyOf<{ sessionToken: string; expiresAt: string; tokenType: string }>(session);
    expect(sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tokenType).toBe('Bearer');
    expect(Date.parse(expiresAt) - bench.clock.now()).toBe(24 * 60 * 60 * 1000);
    expect(session.headers['cache-control']).toBe('no-store');

    // The Session stream holds the audit trail with hashes only, never the code or the token.
    const sessionEvents = await eventsOf(bench.store, await sessionStreamOf());
    expect(sessionEvents.map((e) => e.type)).toEqual(['CodeIssued', 'CodeConsumed', 'Authorized']);
    expect(sessionEvents[0]?.data['codeHash']).toBe(sha256Hex(steps.code));
    expect(sessionEvents[2]?.data).toMatchObject({ googleSubject: '109876543210', userId, tokenHash: sha256Hex(sessionToken) });
    expect(JSON.stringify(sessionEvents)).not.toContain(sessionToken);
    expect(JSON.stringify(sessionEvents)).not.toContain(steps.code);

    await grant(bench, 1_000_000);
    const price = videoCharge(bench.app.llm.prices.current(), 'sora-2', '1280x720', 8);
    if (E.isLeft(price)) throw new Error('sheet has no sora-2 price');
    const created = await generate(bench, sessionToken, { prompt: 'A beautiful sunset over the ocean', duration: 8, resolution: '720p' });
    expect(created.statusCode).toBe(202);
    const job = bodyOf<{ jobId: string; status: string; heldCredits: number; resolution: string }>(created);
    expect(job).toMatchObject({ status: 'queued', heldCredits: price.right.credits, resolution: '1280x720' });
    expect(await bench.app.ledger.balance(userId)).toMatchObject({ balance: 1_000_000, held: price.right.credits });
    expect(bench.fixture.creates()).toBe(1);

    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push(bodyOf<{ status: string }>(await getJob(bench, sessionToken, job.jobId)).status);
    expect(seen).toEqual(['queued', 'in_progress', 'completed']);
    const done = bodyOf<Record<string, unknown>>(await getJob(bench, sessionToken, job.jobId));
    expect(done).toMatchObject({ status: 'completed', chargedCredits: price.right.credits });
    // The link a GPT can hand its user: signed for this job and owner, no token in it.
    expect(String(done['contentUrl'])).toMatch(new RegExp(`^${publicUrl}/api/sora2/downloads/${job.jobId}\\?user=[^&]+&expires=\\d+&signature=[A-Za-z0-9_-]+$`));
    const viaLink = new URL(String(done['contentUrl']));
    const downloaded = await bench.server.inject({ method: 'GET', url: `${viaLink.pathname}${viaLink.search}` });
    expect(downloaded.statusCode).toBe(200);
    expect(downloaded.headers['content-type']).toBe('video/mp4');

    const account = await eventsOf(bench.store, accountStream(userId));
    const settled = account.filter((e) => e.type === 'ReservationSettled');
    expect(settled).toHaveLength(1);
    expect(settled[0]?.data).toMatchObject({
      charged: price.right.credits,
      released: 0,
      usage: { provider: 'openai', model: 'sora-2', videoSeconds: 8, resolution: '1280x720' },
      priceSheetVersion: bench.app.llm.prices.current().version,
    });
    expect(await bench.app.ledger.balance(userId)).toMatchObject({ balance: 1_000_000 - price.right.credits, held: 0 });

    const content = await getJob(bench, sessionToken, job.jobId, '/content');
    expect(content.statusCode).toBe(200);
    expect(content.headers['content-type']).toBe('video/mp4');
    const providerId = bench.fixture.requests().find((r) => r.method === 'GET' && r.path.startsWith('/v1/videos/'))?.path.split('/')[3] ?? '';
    expect(content.rawPayload.equals(Buffer.from(bench.fixture.contentOf(providerId)))).toBe(true);
  });

  it('releases the hold when the provider fails the job, and refuses its content', async () => {
    const { sessionToken } = await signIn(bench);
    await grant(bench, 500_000);
    bench.fixture.script({ statuses: ['in_progress', 'failed'], error: { code: 'moderation_blocked', message: 'blocked by moderation' } });
    const job = bodyOf<{ jobId: string; heldCredits: number }>(await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '720x1280' }));
    expect(job.heldCredits).toBe(40_000);
    await getJob(bench, sessionToken, job.jobId);
    const failed = bodyOf<Record<string, unknown>>(await getJob(bench, sessionToken, job.jobId));
    expect(failed).toMatchObject({ status: 'failed', chargedCredits: 0, error: 'blocked by moderation' });
    expect(await typesOf(bench.store, accountStream(userId))).toEqual(['AccountOpened', 'CreditsGranted', 'CreditsReserved', 'ReservationReleased']);
    expect(await bench.app.ledger.balance(userId)).toMatchObject({ balance: 500_000, held: 0, available: 500_000 });
    const content = await getJob(bench, sessionToken, job.jobId, '/content');
    expect(content.statusCode).toBe(409);
    expect(bodyOf(content)).toMatchObject({ type: '/problems/job-not-completed', jobStatus: 'failed' });
  });

  it('answers 402 without calling the provider or holding anything when credits are short', async () => {
    const { sessionToken } = await signIn(bench);
    await grant(bench, 39_999);
    const before = await streamsOf(bench.store);
    const refused = await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' });
    expect(refused.statusCode).toBe(402);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(bodyOf(refused)).toMatchObject({ type: '/problems/insufficient-credits', requested: 40_000, available: 39_999 });
    expect(bench.fixture.creates()).toBe(0);
    expect(bench.fixture.requests()).toHaveLength(0);
    expect(await streamsOf(bench.store)).toEqual(before);
    expect(await typesOf(bench.store, accountStream(userId))).toEqual(['AccountOpened', 'CreditsGranted']);
  });

  it('refuses durations and resolutions Sora 2 does not offer, before any hold', async () => {
    const { sessionToken } = await signIn(bench);
    await grant(bench, 1_000_000);
    const ten = await generate(bench, sessionToken, { prompt: 'x', duration: 10, resolution: '1280x720' });
    expect(ten.statusCode).toBe(400);
    expect(bodyOf(ten)).toMatchObject({ type: '/problems/unsupported-video-parameters', field: 'duration', allowed: ['4', '8', '12'] });
    const hd = await generate(bench, sessionToken, { prompt: 'x', duration: 8, resolution: '1080p' });
    expect(bodyOf(hd)).toMatchObject({ type: '/problems/unsupported-video-parameters', field: 'resolution' });
    const junk = await generate(bench, sessionToken, { prompt: '', duration: 8.5, resolution: '1280x720', extra: 1 });
    expect(junk.statusCode).toBe(400);
    expect(bodyOf(junk)).toMatchObject({ type: '/problems/validation-failed' });
    expect(bench.fixture.requests()).toHaveLength(0);
    expect(await typesOf(bench.store, accountStream(userId))).toEqual(['AccountOpened', 'CreditsGranted']);
  });

  it('releases the hold and answers 503 when the provider is down at creation', async () => {
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    bench.fixture.faultNext('POST', '/v1/videos', { status: 500 });
    const down = await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' });
    expect(down.statusCode).toBe(503);
    expect(bodyOf(down)).toMatchObject({ type: '/problems/provider-unavailable' });
    expect(await typesOf(bench.store, accountStream(userId))).toEqual(['AccountOpened', 'CreditsGranted', 'CreditsReserved', 'ReservationReleased']);
    // The request was recorded before the call and ended as refused: no job runs, nothing is held.
    const videoStreams = [...(await streamsOf(bench.store))].filter((n) => n.startsWith('video-'));
    expect(videoStreams).toHaveLength(1);
    expect(await typesOf(bench.store, videoStreams[0] as string)).toEqual(['VideoJobRequested', 'VideoJobFailed']);
  });

  it('shows a job only to its owner', async () => {
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    const job = bodyOf<{ jobId: string }>(await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' }));
    bench.issuer.setUser({ sub: 'someone-else' });
    const other = await signIn(bench);
    const peek = await getJob(bench, other.sessionToken, job.jobId);
    expect(peek.statusCode).toBe(404);
    expect(bodyOf(peek)).toMatchObject({ type: '/problems/job-not-found' });
    expect((await getJob(bench, other.sessionToken, job.jobId, '/content')).statusCode).toBe(404);
    expect((await getJob(bench, sessionToken, job.jobId)).statusCode).toBe(200);
  });
});

describeWithRedis('Sora 2 flow with the Redis session store', (url) => {
  beforeEach(async () => {
    bench = await startBench({}, { REDIS_URL: url, REDIS_PREFIX: `sora2test:${randomBytes(6).toString('hex')}:` });
  });
  afterEach(() => bench.close());

  it('signs in, exchanges the code once, generates and revokes with the lookups in Redis', async () => {
    expect(bench.app.sessions.kind).toBe('redis');
    const { code, sessionToken } = await signIn(bench);
    expect(bodyOf(await exchange(bench, code))).toMatchObject({ type: '/problems/code-already-used' });
    const redis = bench.app.redis;
    if (redis === undefined) throw new Error('no redis client');
    const keys = await redis.keys(`${bench.app.config.REDIS_PREFIX}s:*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    // Codes and tokens are stored by digest only: no key or value carries them in clear.
    for (const key of keys) {
      expect(key).not.toContain(code);
      expect(key).not.toContain(sessionToken);
      const value = (await redis.type(key)) === 'string' ? await redis.get(key) : JSON.stringify(await redis.hgetall(key));
      expect(String(value)).not.toContain(sessionToken);
      expect(String(value)).not.toContain(code);
    }
    await grant(bench, 100_000);
    expect((await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' })).statusCode).toBe(202);
    const revoke = await bench.server.inject({ method: 'POST', url: '/api/sora2/auth/revoke', headers: { authorization: `Bearer ${sessionToken}` } });
    expect(revoke.statusCode).toBe(200);
    expect((await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' })).statusCode).toBe(401);
  });
});
