import { afterEach, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import type { VideoProvider } from '../../../application/ports/videoProvider.js';
import { makeVideoJobs } from '../../../application/video/videoJobs.js';
import { makeOpenAiVideoProvider } from '../../../adapters/video/openaiVideoProvider.js';
import { accountStream } from '../../../domain/creditAccount/index.js';
import type { Bench } from './sora2TestKit.js';
import { bodyOf, eventsOf, generate, getJob, grant, signIn, startBench, typesOf, userId } from './sora2TestKit.js';

/**
 * Issue 10's Sora 2 money edges: an idempotent generate, the jobs list, a
 * creation whose answer was lost (kept on hold and reconciled with the
 * provider's job list), progress on the hold while a job runs, the content of
 * an unpaid job, and a hold another process took (decided on fresh state).
 */
let bench: Bench;
afterEach(async () => bench.close());

const body = { prompt: 'a lighthouse in a storm', duration: 4, resolution: '1280x720' };
const post = (token: string, key: string, payload: Record<string, unknown> = body) =>
  bench.server.inject({ method: 'POST', url: '/api/sora2/generate', headers: { authorization: `Bearer ${token}`, 'idempotency-key': key }, payload });
const account = () => typesOf(bench.store, accountStream(userId));
const fixtureProvider = () => makeOpenAiVideoProvider({ apiKey: bench.fixture.apiKey, baseURL: bench.fixture.baseURL, maxRetries: 0, timeoutMs: 5000 });

describe('POST /api/sora2/generate with Idempotency-Key', () => {
  it('a retry returns the same job: one hold, one provider job; another body is 409', async () => {
    bench = await startBench();
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    const first = await post(sessionToken, 'video-1');
    expect(first.statusCode).toBe(202);
    const again = await post(sessionToken, 'video-1');
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(bodyOf(again)['jobId']).toBe(bodyOf(first)['jobId']);
    expect(bench.fixture.creates()).toBe(1);
    expect((await account()).filter((t) => t === 'CreditsReserved')).toHaveLength(1);
    expect((await post(sessionToken, 'video-1', { ...body, duration: 8 })).statusCode).toBe(409);
  });

  it('even without the key store, a repeat with the job id derived from the key finds the job and repeats nothing', async () => {
    bench = await startBench();
    await signIn(bench);
    await grant(bench, 100_000);
    // What the route does after the key store lost the key (Redis flushed, TTL passed): generate with the derived id again.
    const first = await bench.sora2.jobs.generate({ userId, jobId: 'job_derived_1', ...body });
    const again = await bench.sora2.jobs.generate({ userId, jobId: 'job_derived_1', ...body });
    expect(E.isRight(first) && E.isRight(again) && again.right.jobId === first.right.jobId).toBe(true);
    expect(bench.fixture.creates()).toBe(1);
    expect((await account()).filter((t) => t === 'CreditsReserved')).toHaveLength(1);
    // Another user cannot reach a job by guessing its id.
    expect(await bench.sora2.jobs.generate({ userId: 'google:someone-else', jobId: 'job_derived_1', ...body })).toEqual(E.left(expect.objectContaining({ _tag: expect.any(String) })));
  });
});

describe('GET /api/sora2/jobs', () => {
  it('lists the caller\'s jobs, newest first, and no one else\'s', async () => {
    bench = await startBench();
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    const a = bodyOf<{ jobId: string }>(await generate(bench, sessionToken, body));
    bench.clock.advance(1000);
    const b = bodyOf<{ jobId: string }>(await generate(bench, sessionToken, { ...body, prompt: 'a second one' }));
    const listed = await bench.server.inject({ method: 'GET', url: '/api/sora2/jobs?limit=10', headers: { authorization: `Bearer ${sessionToken}` } });
    expect(listed.statusCode).toBe(200);
    const page = bodyOf<{ jobs: { jobId: string; status: string }[]; total: number }>(listed);
    expect(page.total).toBe(2);
    expect(page.jobs.map((j) => j.jobId)).toEqual([b.jobId, a.jobId]);
    bench.issuer.setUser({ sub: 'someone-else' });
    const other = await signIn(bench);
    const theirs = bodyOf<{ jobs: unknown[]; total: number }>(await bench.server.inject({ method: 'GET', url: '/api/sora2/jobs', headers: { authorization: `Bearer ${other.sessionToken}` } }));
    expect(theirs).toEqual({ jobs: [], total: 0 });
  });
});

describe('a creation whose answer was lost', () => {
  it('keeps the hold, finds the job in the provider\'s list, and charges it once when it completes', async () => {
    bench = await startBench();
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    bench.fixture.loseNextCreateAnswer();
    const created = await generate(bench, sessionToken, body);
    expect(created.statusCode).toBe(202);
    const { jobId, status, heldCredits } = bodyOf<{ jobId: string; status: string; heldCredits: number }>(created);
    expect(status).toBe('queued');
    expect(await account()).toEqual(['AccountOpened', 'CreditsGranted', 'CreditsReserved']);
    expect(await typesOf(bench.store, `video-${jobId}`)).toEqual(['VideoJobRequested']);
    // Polling reconciles with the list, then drives the found job to its end.
    for (let i = 0; i < 5; i++) await getJob(bench, sessionToken, jobId);
    expect(await typesOf(bench.store, `video-${jobId}`)).toEqual(['VideoJobRequested', 'VideoJobCreated', 'VideoJobCompleted']);
    expect((await eventsOf(bench.store, `video-${jobId}`))[1]?.data['providerJobId']).toBe('video_000001');
    expect(bench.fixture.creates()).toBe(1);
    const settled = (await eventsOf(bench.store, accountStream(userId))).filter((e) => e.type === 'ReservationSettled');
    expect(settled.map((e) => e.data['charged'])).toEqual([heldCredits]);
  });

  it('releases the hold only once the provider\'s list has not shown the job for the grace period', async () => {
    // A provider whose creation times out without starting anything: its list never shows the job.
    const timesOut = (inner: VideoProvider): VideoProvider => ({
      ...inner,
      create: async () => E.left({ _tag: 'VideoProviderUnavailable', message: 'timed out', ambiguous: true }),
      list: async () => E.right([]),
    });
    bench = await startBench({ video: timesOut(makeOpenAiVideoProvider({ apiKey: 'sk-sora-fixture', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 })) });
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    const { jobId } = bodyOf<{ jobId: string }>(await generate(bench, sessionToken, body));
    await getJob(bench, sessionToken, jobId);
    expect(await typesOf(bench.store, `video-${jobId}`)).toEqual(['VideoJobRequested']);
    expect(await bench.app.ledger.balance(userId)).toMatchObject({ held: expect.any(Number) });
    bench.clock.advance(121_000);
    const endedResponse = await getJob(bench, sessionToken, jobId);
    const ended = bodyOf<{ status: string }>(endedResponse);
    expect(ended.status).toBe('failed');
    expect(await account()).toEqual(['AccountOpened', 'CreditsGranted', 'CreditsReserved', 'ReservationReleased']);
  });
});

describe('a job never completes unpaid', () => {
  it('records progress on its hold while polled, so a job longer than the hold keeps it', async () => {
    bench = await startBench({ holdTtlMs: 60_000 });
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    bench.fixture.script({ statuses: ['queued', 'in_progress', 'in_progress', 'in_progress', 'in_progress', 'completed'] });
    const { jobId, heldCredits } = bodyOf<{ jobId: string; heldCredits: number }>(await generate(bench, sessionToken, body));
    for (let i = 0; i < 5; i++) {
      bench.clock.advance(20_000);
      await getJob(bench, sessionToken, jobId);
      await bench.app.ledger.sweep(userId);
    }
    const done = bodyOf(await getJob(bench, sessionToken, jobId));
    const types = await account();
    expect(types).toContain('ReservationProgressed');
    expect(types).not.toContain('ReservationExpired');
    expect(types.at(-1)).toBe('ReservationSettled');
    expect(done).toMatchObject({ status: 'completed', chargedCredits: heldCredits });
  });

  it('a job that completes after its hold expired is charged by deduction, or, unpaid, its content is not served', async () => {
    bench = await startBench({ holdTtlMs: 60_000 });
    const { sessionToken } = await signIn(bench);
    await grant(bench, 100_000);
    const paid = bodyOf<{ jobId: string; heldCredits: number }>(await generate(bench, sessionToken, body));
    const unpaid = bodyOf<{ jobId: string }>(await generate(bench, sessionToken, { ...body, prompt: 'another' }));
    // The service was down past the holds' life: the sweeper expired both.
    bench.clock.advance(61_000);
    await bench.app.ledger.sweep(userId);
    expect((await account()).filter((t) => t === 'ReservationExpired')).toHaveLength(2);
    for (let i = 0; i < 3; i++) await getJob(bench, sessionToken, paid.jobId);
    expect(bodyOf(await getJob(bench, sessionToken, paid.jobId))).toMatchObject({ status: 'completed', chargedCredits: paid.heldCredits });
    expect((await getJob(bench, sessionToken, paid.jobId, '/content')).statusCode).toBe(200);
    // Now the account cannot pay for the second one.
    const { available } = await bench.app.ledger.balance(userId);
    await bench.app.ledger.deduct({ accountId: userId, deductionId: 'spend-all', amount: available, service: 'other' });
    for (let i = 0; i < 3; i++) await getJob(bench, sessionToken, unpaid.jobId);
    expect(bodyOf(await getJob(bench, sessionToken, unpaid.jobId))).toMatchObject({ status: 'completed', chargedCredits: 0 });
    const content = await getJob(bench, sessionToken, unpaid.jobId, '/content');
    expect(content.statusCode).toBe(402);
    expect(bodyOf(content)).toMatchObject({ type: '/problems/job-unpaid' });
  });

  it('settles a job whose hold another process took, though this process had the account cached (fresh state)', async () => {
    bench = await startBench();
    await grant(bench, 100_000);
    await bench.app.ledger.balance(userId); // this process has the account cached now
    const { store, clock, app } = bench;
    const otherLedger = makeLedger({ store, clock, ids: app.ids });
    const otherJobs = makeVideoJobs({ store, ledger: otherLedger, access: app.access, provider: fixtureProvider(), prices: () => app.llm.prices.current(), clock, ids: app.ids, logger: app.logger });
    const created = await otherJobs.generate({ userId, ...body });
    if (E.isLeft(created)) throw new Error(JSON.stringify(created.left));
    for (let i = 0; i < 3; i++) await bench.sora2.jobs.advance(created.right.jobId);
    const ended = await bench.sora2.jobs.advance(created.right.jobId);
    expect(ended).toEqual(E.right(expect.objectContaining({ status: 'completed', chargedCredits: created.right.heldCredits })));
  });
});
