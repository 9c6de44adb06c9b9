import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from '@hapi/hapi';
import type { App } from '../../../adapters/app.js';
import { buildApp } from '../../../adapters/app.js';
import { loadConfig } from '../../../adapters/config.js';
import { makeHttpServer } from '../../../adapters/http/server.js';
import { sora2Plugin } from '../../../adapters/http/sora2/plugin.js';
import { makeLogger } from '../../../adapters/logging.js';
import type { OidcIssuer } from '../../support/oidcIssuer.js';
import { startOidcIssuer } from '../../support/oidcIssuer.js';
import type { SoraFixture } from '../../support/soraFixture.js';
import { startSoraFixture } from '../../support/soraFixture.js';

/**
 * The Sora 2 flow over real sockets: the REST server listening on a port, a
 * client following the redirects to the local OpenID issuer and back as a
 * browser would, the openai SDK calling the videos fixture, and the
 * background poller settling the job.
 */
const clientId = 'sora2-e2e-client';
const clientSecret = 'sora2-e2e-secret';

let issuer: OidcIssuer;
let fixture: SoraFixture;
let app: App;
let server: Server;
let base: string;

const freePort = async (): Promise<number> => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
};

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  fixture = await startSoraFixture();
  issuer = await startOidcIssuer({ clientId, clientSecret, redirectUris: [`${base}/api/sora2/auth/callback`], user: { sub: 'e2e-subject', email: 'e2e@example.com' } });
  const env = {
    EVENT_STORE: 'memory:',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: base,
    GOOGLE_CLIENT_ID: clientId,
    GOOGLE_CLIENT_SECRET: clientSecret,
    GOOGLE_ISSUER: issuer.issuer,
    OPENAI_API_KEY: fixture.apiKey,
    OPENAI_BASE_URL: fixture.baseURL,
    JWT_SECRET: 'an-e2e-secret-that-is-long-enough-0123456789',
    LOG_LEVEL: 'silent',
  };
  app = await buildApp(loadConfig(env), env, makeLogger('silent'));
  server = await makeHttpServer(app, { port });
  // Until the REST server registers the Sora 2 plugin itself, the test does.
  if (!Object.hasOwn(server.registrations, 'sora2')) await server.register({ plugin: sora2Plugin, options: { app, pollIntervalMs: 50 } });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  await app.close();
  await Promise.all([issuer.close(), fixture.close()]);
});

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Sora 2 over HTTP', () => {
  it('goes from sign-in to a downloaded, charged video', async () => {
    const start = await fetch(`${base}/api/sora2/auth/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientName: 'E2E GPT' }) });
    expect(start.status).toBe(201);
    const { deviceCode, verificationUriComplete } = (await json(start)) as { deviceCode: string; verificationUriComplete: string };

    // The browser: the confirmation page, "Continue", the issuer's redirect back, the callback page.
    const confirmPage = await fetch(verificationUriComplete);
    expect(confirmPage.status).toBe(200);
    const html = await confirmPage.text();
    expect(html).toContain('E2E GPT');
    const cookie = (confirmPage.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const userCode = /name="user_code" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const toIssuer = await fetch(`${base}/api/sora2/auth/device/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `user_code=${encodeURIComponent(userCode)}&csrf=${encodeURIComponent(csrf)}`,
    });
    expect(toIssuer.status).toBe(303);
    const back = await fetch(toIssuer.headers.get('location') ?? '', { redirect: 'manual' });
    expect(back.status).toBe(302);
    const page = await fetch(back.headers.get('location') ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('You are signed in');

    const exchange = () => fetch(`${base}/api/sora2/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceCode }) });
    const session = await exchange();
    expect(session.status).toBe(200);
    const { sessionToken } = (await json(session)) as { sessionToken: string };
    const reused = await exchange();
    expect(reused.status).toBe(409);
    expect(reused.headers.get('content-type')).toContain('application/problem+json');
    expect(await json(reused)).toMatchObject({ type: '/problems/code-already-used' });

    const auth = { authorization: `Bearer ${sessionToken}` };
    const poor = await fetch(`${base}/api/sora2/generate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'tide', duration: 4, resolution: '720p' }) });
    expect(poor.status).toBe(402);
    expect(fixture.creates()).toBe(0);

    await app.ledger.grant({ accountId: 'google:e2e-subject', grantId: 'e2e-grant', amount: 100_000 });
    const created = await fetch(`${base}/api/sora2/generate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'tide', duration: 4, resolution: '720p' }) });
    expect(created.status).toBe(202);
    const { jobId, heldCredits } = (await json(created)) as { jobId: string; heldCredits: number };
    expect(heldCredits).toBe(40_000);

    let job: Record<string, unknown> = {};
    for (let i = 0; i < 100 && job['status'] !== 'completed'; i++) {
      job = await json(await fetch(`${base}/api/sora2/jobs/${jobId}`, { headers: auth }));
      if (job['status'] !== 'completed') await sleep(20);
    }
    expect(job).toMatchObject({ status: 'completed', chargedCredits: 40_000 });
    const content = await fetch(String(job['contentUrl']), { headers: auth });
    expect(content.status).toBe(200);
    expect(content.headers.get('content-type')).toBe('video/mp4');
    expect((await content.arrayBuffer()).byteLength).toBeGreaterThan(8);
    expect(await app.ledger.balance('google:e2e-subject')).toMatchObject({ balance: 60_000, held: 0 });

    const revoked = await fetch(`${base}/api/sora2/auth/revoke`, { method: 'POST', headers: auth });
    expect(revoked.status).toBe(200);
    const after = await fetch(`${base}/api/sora2/jobs/${jobId}`, { headers: auth });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('Bearer');
  });
});
