import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { VideoContent, VideoProvider } from '../../../application/ports/videoProvider.js';
import { makeOpenAiVideoProvider } from '../../../adapters/video/openaiVideoProvider.js';
import { makeScriptedVideoProvider } from '../../../adapters/video/scriptedVideoProvider.js';
import { planSora } from '../../../adapters/video/soraParams.js';
import type { SoraFixture } from '../../support/soraFixture.js';
import { startSoraFixture } from '../../support/soraFixture.js';

/**
 * The Sora 2 adapter through the real `openai` SDK (videos.create, retrieve,
 * downloadContent) against the local videos API fixture, and the parameter
 * mapping shared with the scripted provider.
 */
let fixture: SoraFixture;
let provider: VideoProvider;

beforeAll(async () => {
  fixture = await startSoraFixture();
  provider = makeOpenAiVideoProvider({ apiKey: fixture.apiKey, baseURL: fixture.baseURL, maxRetries: 0, timeoutMs: 5000 });
});
afterAll(() => fixture.close());

const right = <A>(either: E.Either<unknown, A>): A => {
  if (E.isLeft(either)) throw new Error(`expected Right, got ${JSON.stringify(either.left)}`);
  return either.right;
};
const left = <E1>(either: E.Either<E1, unknown>): E1 => {
  if (E.isRight(either)) throw new Error(`expected Left, got ${JSON.stringify(either.right)}`);
  return either.left;
};

const bytesOf = async (content: VideoContent): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of content.body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
};

describe('Sora 2 parameter mapping', () => {
  it('maps sizes and short names, and refuses what the API does not offer, listing what it does', () => {
    expect(right(planSora({ model: 'sora-2', duration: 8, resolution: '720p' }))).toEqual({ model: 'sora-2', seconds: 8, size: '1280x720' });
    expect(right(planSora({ model: 'sora-2', duration: 4, resolution: '720x1280' })).size).toBe('720x1280');
    expect(right(planSora({ model: 'sora-2-pro', duration: 12, resolution: '1024p-portrait' })).size).toBe('1024x1792');
    const duration = left(planSora({ model: 'sora-2', duration: 10, resolution: '1280x720' }));
    expect(duration).toMatchObject({ _tag: 'VideoUnsupported', field: 'duration', allowed: ['4', '8', '12'] });
    const hd = left(planSora({ model: 'sora-2', duration: 8, resolution: '1080p' }));
    expect(hd).toMatchObject({ _tag: 'VideoUnsupported', field: 'resolution' });
    expect(hd._tag === 'VideoUnsupported' && hd.allowed).toEqual(['1280x720', '720x1280', '720p', '720p-landscape', '720p-portrait']);
    expect(left(planSora({ model: 'sora-2', duration: 8, resolution: '1792x1024' }))).toMatchObject({ field: 'resolution' });
    expect(left(planSora({ model: 'sora-3', duration: 8, resolution: '1280x720' }))).toMatchObject({ field: 'model' });
  });
});

describe('OpenAI videos adapter through the SDK', () => {
  it('creates a job with the API values, follows it to completed and downloads the content', async () => {
    const plan = right(provider.plan({ model: 'sora-2', duration: 8, resolution: '720p' }));
    const created = right(await provider.create(plan, 'A lighthouse at dawn'));
    expect(created).toMatchObject({ status: 'queued', progress: 0, seconds: 8, size: '1280x720' });
    const post = fixture.requests().find((r) => r.method === 'POST');
    expect(post?.fields).toEqual({ model: 'sora-2', prompt: 'A lighthouse at dawn', seconds: '8', size: '1280x720' });
    expect(post?.authorization).toBe(`Bearer ${fixture.apiKey}`);
    expect(left(await provider.content(created.id))).toMatchObject({ _tag: 'VideoContentUnavailable' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(right(await provider.retrieve(created.id)).status);
    expect(statuses).toEqual(['queued', 'in_progress', 'completed']);
    const content = right(await provider.content(created.id));
    expect(content.contentType).toBe('video/mp4');
    expect((await bytesOf(content)).equals(Buffer.from(fixture.contentOf(created.id)))).toBe(true);
  });

  it('reports a failed job with the provider message', async () => {
    fixture.script({ statuses: ['in_progress', 'failed'], error: { code: 'moderation_blocked', message: 'blocked by moderation' } });
    const created = right(await provider.create(right(planSora({ model: 'sora-2', duration: 4, resolution: '720x1280' })), 'x'));
    await provider.retrieve(created.id);
    expect(right(await provider.retrieve(created.id))).toMatchObject({ status: 'failed', error: { code: 'moderation_blocked', message: 'blocked by moderation' } });
  });

  it('classifies faults: 5xx and 429 are outages (with Retry-After), 4xx refusals, 404 unknown jobs', async () => {
    const plan = right(planSora({ model: 'sora-2', duration: 4, resolution: '1280x720' }));
    const before = fixture.creates();
    fixture.faultNext('POST', '/v1/videos', { status: 500 });
    expect(left(await provider.create(plan, 'x'))).toMatchObject({ _tag: 'VideoProviderUnavailable' });
    // Creating is never retried, whatever the SDK's retry setting: a retry could start a second, unpaid job.
    const retrying = makeOpenAiVideoProvider({ apiKey: fixture.apiKey, baseURL: fixture.baseURL, maxRetries: 3 });
    fixture.faultNext('POST', '/v1/videos', { status: 503 });
    expect(left(await retrying.create(plan, 'x'))).toMatchObject({ _tag: 'VideoProviderUnavailable' });
    expect(fixture.creates() - before).toBe(2);
    fixture.faultNext('POST', '/v1/videos', { status: 400, message: 'prompt violates policy' });
    expect(left(await provider.create(plan, 'x'))).toMatchObject({ _tag: 'VideoRejected', status: 400, message: expect.stringContaining('prompt violates policy') });
    fixture.faultNext('GET', '/v1/videos/', { status: 429, headers: { 'retry-after': '7' } });
    expect(left(await provider.retrieve('video_000001'))).toMatchObject({ _tag: 'VideoProviderUnavailable', retryAfterMs: 7000 });
    expect(left(await provider.retrieve('video_nope'))).toEqual({ _tag: 'VideoNotFound', id: 'video_nope' });
    const wrongKey = makeOpenAiVideoProvider({ apiKey: 'sk-wrong', baseURL: fixture.baseURL, maxRetries: 0 });
    expect(left(await wrongKey.create(plan, 'x'))).toMatchObject({ _tag: 'VideoRejected', status: 401 });
  });

  it('reports an unreachable provider as an outage', async () => {
    const closed = await startSoraFixture();
    const url = closed.baseURL;
    await closed.close();
    const gone = makeOpenAiVideoProvider({ apiKey: 'k', baseURL: url, maxRetries: 0, timeoutMs: 2000 });
    expect(left(await gone.retrieve('video_1'))).toMatchObject({ _tag: 'VideoProviderUnavailable' });
    // A refused connection never reached the provider: a creation answered so is not ambiguous (nothing to reconcile).
    const plan = right(gone.plan({ model: 'sora-2', duration: 4, resolution: '720p' }));
    expect(left(await gone.create(plan, 'x'))).not.toHaveProperty('ambiguous');
  });

  it('a creation whose answer was lost is ambiguous, and the job list shows the job it started', async () => {
    const fixture = await startSoraFixture();
    try {
      const provider = makeOpenAiVideoProvider({ apiKey: fixture.apiKey, baseURL: fixture.baseURL, maxRetries: 0, timeoutMs: 2000 });
      const plan = right(provider.plan({ model: 'sora-2', duration: 4, resolution: '720p' }));
      fixture.loseNextCreateAnswer();
      expect(left(await provider.create(plan, 'a quiet harbour'))).toMatchObject({ _tag: 'VideoProviderUnavailable', ambiguous: true });
      const listed = right(await provider.list({ limit: 10 }));
      expect(listed).toEqual([expect.objectContaining({ id: 'video_000001', model: 'sora-2', prompt: 'a quiet harbour', seconds: 4, size: '1280x720' })]);
    } finally {
      await fixture.close();
    }
  });
});

describe('scripted video provider', () => {
  it('moves queued -> in_progress -> completed, serves bytes once done, and fails on [fail]', async () => {
    const scripted = makeScriptedVideoProvider({ stepsToFinish: 2 });
    const plan = right(scripted.plan({ model: 'sora-2', duration: 4, resolution: '720p' }));
    const job = right(await scripted.create(plan, 'a cat'));
    expect(job.status).toBe('queued');
    expect(left(await scripted.content(job.id))._tag).toBe('VideoContentUnavailable');
    expect(right(await scripted.retrieve(job.id)).status).toBe('in_progress');
    expect(right(await scripted.retrieve(job.id)).status).toBe('completed');
    expect((await bytesOf(right(await scripted.content(job.id)))).subarray(4, 8).toString()).toBe('ftyp');
    const failing = right(await scripted.create(plan, 'please [fail]'));
    await scripted.retrieve(failing.id);
    expect(right(await scripted.retrieve(failing.id))).toMatchObject({ status: 'failed', error: { code: 'scripted_failure' } });
    expect(left(await scripted.retrieve('video_unknown'))._tag).toBe('VideoNotFound');
  });
});
