import { afterEach, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { makeLedger } from '../../../application/credits/ledger.js';
import { reservationIdOf } from '../../../application/video/job.js';
import type { VideoPoller } from '../../../application/video/poller.js';
import { makeVideoPoller } from '../../../application/video/poller.js';
import { makeVideoJobs } from '../../../application/video/videoJobs.js';
import type { VideoProvider } from '../../../application/ports/videoProvider.js';
import { makeOpenAiVideoProvider } from '../../../adapters/video/openaiVideoProvider.js';
import { makeScriptedVideoProvider } from '../../../adapters/video/scriptedVideoProvider.js';
import { accountStream } from '../../../domain/creditAccount/index.js';
import type { Bench } from './sora2TestKit.js';
import { bodyOf, eventsOf, generate, getJob, grant, signIn, startBench, typesOf, userId } from './sora2TestKit.js';

/**
 * The job poller: it settles jobs nobody asks about, picks running jobs up
 * again after a restart, and charges each job exactly once however many times
 * and from however many processes a job is driven.
 */
let bench: Bench;
const extraPollers: VideoPoller[] = [];

afterEach(async () => {
  await Promise.all(extraPollers.splice(0).map((p) => p.stop()));
  await bench.close();
});

/** A second process on the same event store: its own ledger, handlers and caches. */
const anotherProcess = (provider: VideoProvider) => {
  const { store, clock, app } = bench;
  const ledger = makeLedger({ store, clock, ids: app.ids });
  const jobs = makeVideoJobs({ store, ledger, access: app.access, provider, prices: () => app.llm.prices.current(), clock, ids: app.ids, logger: app.logger });
  const poller = makeVideoPoller({ store, jobs, logger: app.logger, intervalMs: 3_600_000 });
  extraPollers.push(poller);
  return { ledger, jobs, poller };
};

const fixtureProvider = () => makeOpenAiVideoProvider({ apiKey: bench.fixture.apiKey, baseURL: bench.fixture.baseURL, maxRetries: 0 });

const settlementsOf = async () => (await eventsOf(bench.store, accountStream(userId))).filter((e) => e.type === 'ReservationSettled');

const startJob = async (duration = 8) => {
  const { sessionToken } = await signIn(bench);
  await grant(bench, 1_000_000);
  const created = await generate(bench, sessionToken, { prompt: 'waves', duration, resolution: '1280x720' });
  expect(created.statusCode).toBe(202);
  return { sessionToken, ...bodyOf<{ jobId: string; heldCredits: number }>(created) };
};

describe('video job poller', () => {
  it('drives a job nobody asks about to completed and settles it', async () => {
    bench = await startBench();
    await bench.sora2.poller.start();
    const { sessionToken, jobId, heldCredits } = await startJob();
    expect(bench.sora2.poller.running()).toEqual([jobId]);
    for (let i = 0; i < 3; i++) await bench.sora2.poller.pollNow();
    expect(bench.sora2.poller.running()).toEqual([]);
    expect((await settlementsOf()).map((e) => e.data['charged'])).toEqual([heldCredits]);
    const polls = bench.fixture.requests().length;
    // A status call on an ended job answers from the stream, without asking the provider again.
    expect(bodyOf(await getJob(bench, sessionToken, jobId))).toMatchObject({ status: 'completed', chargedCredits: heldCredits });
    expect(bench.fixture.requests()).toHaveLength(polls);
  });

  it('after a crash between settling and recording the end, a restarted poller ends the job without charging twice', async () => {
    bench = await startBench();
    bench.fixture.script({ statuses: ['completed'] });
    const { jobId, heldCredits } = await startJob();
    // The first process settled the hold, then died before appending VideoJobCompleted.
    const first = await bench.app.ledger.settle({
      accountId: userId,
      reservationId: reservationIdOf(jobId),
      charge: heldCredits,
      usage: { provider: 'openai', model: 'sora-2', videoSeconds: 8, resolution: '1280x720' },
      priceSheetVersion: bench.app.llm.prices.current().version,
    });
    expect(E.isRight(first)).toBe(true);
    expect(await typesOf(bench.store, `video-${jobId}`)).toEqual(['VideoJobRequested', 'VideoJobCreated']);

    const restarted = anotherProcess(fixtureProvider());
    await restarted.poller.start();
    expect(restarted.poller.running()).toEqual([jobId]);
    expect(await restarted.poller.pollNow()).toBe(1);
    expect(await typesOf(bench.store, `video-${jobId}`)).toEqual(['VideoJobRequested', 'VideoJobCreated', 'VideoJobCompleted']);
    // And once more, from the first process's stale view: still one settlement.
    await bench.sora2.jobs.advance(jobId);
    expect((await settlementsOf()).map((e) => e.data['charged'])).toEqual([heldCredits]);
    expect(await bench.app.ledger.balance(userId)).toMatchObject({ balance: 1_000_000 - heldCredits, held: 0 });
  });

  it('charges once when two processes drive the same job at the same moment', async () => {
    bench = await startBench();
    bench.fixture.script({ statuses: ['completed'] });
    const { jobId, heldCredits } = await startJob(4);
    const a = anotherProcess(fixtureProvider());
    const b = anotherProcess(fixtureProvider());
    const results = await Promise.all([a.jobs.advance(jobId), b.jobs.advance(jobId), bench.sora2.jobs.advance(jobId)]);
    expect(results.map((r) => E.isRight(r) && r.right.status)).toEqual(['completed', 'completed', 'completed']);
    expect((await settlementsOf()).map((e) => e.data['charged'])).toEqual([heldCredits]);
    expect(await typesOf(bench.store, `video-${jobId}`)).toEqual(['VideoJobRequested', 'VideoJobCreated', 'VideoJobCompleted']);
  });

  it('releases the hold of a job the provider no longer knows (scripted provider restarted)', async () => {
    bench = await startBench({ video: makeScriptedVideoProvider() });
    const { jobId } = await startJob(4);
    const restarted = anotherProcess(makeScriptedVideoProvider());
    await restarted.poller.start();
    await restarted.poller.pollNow();
    const job = await eventsOf(bench.store, `video-${jobId}`);
    expect(job.map((e) => e.type)).toEqual(['VideoJobRequested', 'VideoJobCreated', 'VideoJobFailed']);
    expect(job[2]?.data).toMatchObject({ outcome: 'lost' });
    expect(await bench.app.ledger.balance(userId)).toMatchObject({ balance: 1_000_000, held: 0 });
  });

  it('keeps polling through provider outages without ending the job', async () => {
    bench = await startBench();
    await bench.sora2.poller.start();
    const { jobId } = await startJob(4);
    bench.fixture.faultNext('GET', '/v1/videos/', { status: 503 });
    expect(await bench.sora2.poller.pollNow()).toBe(0);
    expect(bench.sora2.poller.running()).toEqual([jobId]);
    expect(await typesOf(bench.store, `video-${jobId}`)).toEqual(['VideoJobRequested', 'VideoJobCreated']);
    for (let i = 0; i < 3; i++) await bench.sora2.poller.pollNow();
    expect(bench.sora2.poller.running()).toEqual([]);
    expect(await settlementsOf()).toHaveLength(1);
  });
});
