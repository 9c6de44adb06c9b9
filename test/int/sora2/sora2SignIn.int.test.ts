import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Hapi from '@hapi/hapi';
import { makeSessionHandler } from '../../../application/signin/sessionHandler.js';
import { buildApp } from '../../../adapters/app.js';
import { loadConfig } from '../../../adapters/config.js';
import { renderProblems } from '../../../adapters/http/problems.js';
import { sora2Plugin } from '../../../adapters/http/sora2/plugin.js';
import { makeLogger } from '../../../adapters/logging.js';
import type { Bench } from './sora2TestKit.js';
import { bodyOf, callback, eventsOf, exchange, generate, grant, signIn, signInSteps, startBench, streamsOf, typesOf } from './sora2TestKit.js';

/**
 * Every way the Sora 2 sign-in refuses: reused codes, wrong or replayed
 * state, ID tokens that do not verify, expired and revoked sessions. Each one
 * answers a clear problem and writes nothing but the audit event of the attempt.
 */
let bench: Bench;

beforeEach(async () => {
  bench = await startBench();
});
afterEach(() => bench.close());

const sessionStreams = async () => [...(await streamsOf(bench.store))].filter((n) => n.startsWith('session-'));
const onlySessionStream = async (): Promise<string> => {
  const [name, ...rest] = await sessionStreams();
  if (name === undefined || rest.length > 0) throw new Error('expected exactly one session stream');
  return name;
};
const failures = async (stream: string) =>
  (await eventsOf(bench.store, stream)).filter((e) => e.type === 'AuthAttemptFailed').map((e) => String(e.data['reason']));

describe('Sora 2 sign-in refusals', () => {
  it('exchanges a code once: a second exchange is code-already-used and goes on the record', async () => {
    const { code } = await signIn(bench);
    const again = await exchange(bench, code);
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(bodyOf(again)).toMatchObject({ type: '/problems/code-already-used', status: 409 });
    const stream = await onlySessionStream();
    expect(await typesOf(bench.store, stream)).toEqual(['CodeIssued', 'CodeConsumed', 'Authorized', 'AuthAttemptFailed']);
    expect(await failures(stream)).toEqual(['code exchange refused: CodeAlreadyUsed']);
  });

  it('tells unknown codes and codes not yet signed in apart, and the early exchange does not spend the code', async () => {
    const unknown = await exchange(bench, 'A'.repeat(43));
    expect(unknown.statusCode).toBe(404);
    expect(bodyOf(unknown)).toMatchObject({ type: '/problems/code-not-found' });
    const steps = await signInSteps(bench);
    const early = await exchange(bench, steps.code);
    expect(early.statusCode).toBe(409);
    expect(bodyOf(early)).toMatchObject({ type: '/problems/code-not-authorized' });
    expect((await callback(bench, steps.callbackUrl)).statusCode).toBe(200);
    expect((await exchange(bench, steps.code)).statusCode).toBe(200);
  });

  it('refuses an unknown state and a replayed callback, writing nothing for them', async () => {
    const steps = await signInSteps(bench);
    const forged = new URL(steps.callbackUrl);
    forged.searchParams.set('state', 'not-a-state-we-issued');
    const wrong = await callback(bench, forged.toString());
    expect(wrong.statusCode).toBe(400);
    expect(bodyOf(wrong)).toMatchObject({ type: '/problems/invalid-state' });
    expect((await callback(bench, steps.callbackUrl, { accept: 'application/json' })).statusCode).toBe(200);
    const replay = await callback(bench, steps.callbackUrl);
    expect(replay.statusCode).toBe(400);
    expect(bodyOf(replay)).toMatchObject({ type: '/problems/invalid-state' });
    expect(await typesOf(bench.store, await onlySessionStream())).toEqual(['CodeIssued']);
    expect(bench.issuer.tokenRequests()).toHaveLength(1);
  });

  it.each([
    ['signed by another key', { rogueKey: true }, 'signature verification failed'],
    ['for another audience', { audience: 'another-client' }, 'unexpected audience'],
    ['with another nonce', { nonce: 'replayed' }, 'nonce mismatch'],
    ['already expired', { expiresInS: -300 }, 'ID token expired'],
  ] as const)('refuses an ID token %s and leaves the code unusable for the session exchange', async (_, tamper, reason) => {
    const steps = await signInSteps(bench);
    bench.issuer.tamperNext(tamper);
    const refused = await callback(bench, steps.callbackUrl);
    expect(refused.statusCode).toBe(401);
    expect(bodyOf(refused)).toMatchObject({ type: '/problems/sign-in-failed', detail: `ID token rejected: ${reason}` });
    expect(await failures(await onlySessionStream())).toEqual([`ID token rejected: ${reason}`]);
    expect(bodyOf(await exchange(bench, steps.code))).toMatchObject({ type: '/problems/code-not-authorized' });
    expect([...(await streamsOf(bench.store))].some((n) => n.startsWith('account-'))).toBe(false);
  });

  it('records a sign-in the user declined at the provider', async () => {
    bench.issuer.denyNext('access_denied');
    const steps = await signInSteps(bench);
    const declined = await callback(bench, steps.callbackUrl);
    expect(declined.statusCode).toBe(403);
    expect(bodyOf(declined)).toMatchObject({ type: '/problems/sign-in-declined', error: 'access_denied' });
    expect(await failures(await onlySessionStream())).toEqual(['identity provider error: access_denied']);
  });

  it('lets a code die after 15 minutes (its sign-in state after at most 10)', async () => {
    const steps = await signInSteps(bench);
    bench.clock.advance(15 * 60 * 1000);
    expect(bodyOf(await callback(bench, steps.callbackUrl))).toMatchObject({ type: '/problems/invalid-state' });
    expect(bodyOf(await exchange(bench, steps.code))).toMatchObject({ type: '/problems/code-not-found' });
  });

  it('refuses an expired session with session-expired and records the end and the attempt', async () => {
    const { sessionToken } = await signIn(bench);
    await grant(bench, 1_000_000);
    bench.clock.advance(24 * 60 * 60 * 1000);
    const late = await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' });
    expect(late.statusCode).toBe(401);
    expect(late.headers['www-authenticate']).toContain('session expired');
    expect(bodyOf(late)).toMatchObject({ type: '/problems/session-expired' });
    const stream = await onlySessionStream();
    expect(await typesOf(bench.store, stream)).toEqual(['CodeIssued', 'CodeConsumed', 'Authorized', 'Expired', 'AuthAttemptFailed']);
    expect(bench.fixture.requests()).toHaveLength(0);
  });

  it('revokes a session: it stops working at once, and missing or junk tokens are 401 too', async () => {
    const { sessionToken } = await signIn(bench);
    await grant(bench, 1_000_000);
    const revoke = await bench.server.inject({ method: 'POST', url: '/api/sora2/auth/revoke', headers: { authorization: `Bearer ${sessionToken}` } });
    expect(revoke.statusCode).toBe(200);
    expect(bodyOf(revoke)).toEqual({ revoked: true });
    const after = await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' });
    expect(after.statusCode).toBe(401);
    expect(bodyOf(after)).toMatchObject({ type: '/problems/session-invalid' });
    expect(await typesOf(bench.store, await onlySessionStream())).toEqual(['CodeIssued', 'CodeConsumed', 'Authorized', 'Revoked']);
    const none = await bench.server.inject({ method: 'POST', url: '/api/sora2/generate', payload: { prompt: 'x', duration: 4, resolution: '1280x720' } });
    expect(none.statusCode).toBe(401);
    expect((await generate(bench, 'not-a-token', { prompt: 'x', duration: 4, resolution: '1280x720' })).statusCode).toBe(401);
    expect(bench.fixture.requests()).toHaveLength(0);
  });

  it('refuses a revoked session even when the token lookup survived the revocation', async () => {
    const { sessionToken } = await signIn(bench);
    // Revoke on the stream only, as another process whose lookup delete was lost would leave it.
    const stream = await onlySessionStream();
    const signInFlow = bench.sora2.signIn;
    if (signInFlow === undefined) throw new Error('sign-in not configured');
    expect(await signInFlow.session(stream.slice('session-'.length))).toMatchObject({ status: 'authorized' });
    const other = makeSessionHandler({ store: bench.store, clock: bench.clock, ids: bench.app.ids });
    await other.handle(stream, { type: 'Revoke', reason: 'admin', at: bench.clock.now() });
    const refused = await generate(bench, sessionToken, { prompt: 'x', duration: 4, resolution: '1280x720' });
    expect(bodyOf(refused)).toMatchObject({ type: '/problems/session-revoked', status: 401 });
  });
});

describe('Sora 2 without Google configured', () => {
  it('answers 503 sign-in-unavailable on the sign-in routes', async () => {
    const server = new Hapi.Server();
    server.ext('onPreResponse', renderProblems);
    const config = { EVENT_STORE: 'memory:', LOG_LEVEL: 'silent', JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789' };
    const app = await buildApp(loadConfig(config), config, makeLogger('silent'));
    await server.register({ plugin: sora2Plugin, options: { app, pollIntervalMs: 0 } });
    const start = await server.inject({ method: 'POST', url: '/api/sora2/auth/start' });
    expect(start.statusCode).toBe(503);
    expect(bodyOf(start)).toMatchObject({ type: '/problems/sign-in-unavailable' });
    expect((await server.inject({ method: 'POST', url: '/api/sora2/generate', payload: {} })).statusCode).toBe(503);
    await app.close();
  });
});
