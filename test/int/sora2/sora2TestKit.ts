import Hapi from '@hapi/hapi';
import type { Server, ServerInjectResponse } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { Clock } from '../../../application/ports/clock.js';
import type { EventStore, RecordedEvent } from '../../../application/ports/eventStore.js';
import type { VideoProvider } from '../../../application/ports/videoProvider.js';
import type { App } from '../../../adapters/app.js';
import { buildApp } from '../../../adapters/app.js';
import { loadConfig } from '../../../adapters/config.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';
import { renderProblems } from '../../../adapters/http/problems.js';
import type { Sora2Exposed, Sora2PluginOptions } from '../../../adapters/http/sora2/plugin.js';
import { sora2Plugin } from '../../../adapters/http/sora2/plugin.js';
import { makeLogger } from '../../../adapters/logging.js';
import { makeOpenAiVideoProvider } from '../../../adapters/video/openaiVideoProvider.js';
import type { OidcIssuer } from '../../support/oidcIssuer.js';
import { startOidcIssuer } from '../../support/oidcIssuer.js';
import type { SoraFixture } from '../../support/soraFixture.js';
import { startSoraFixture } from '../../support/soraFixture.js';

/**
 * A Sora 2 test bench: the local OpenID issuer, the videos API fixture, an App
 * on a memory event store and in-process session store with a clock the test
 * moves, and a hapi server with the problem renderer and the sora2 plugin.
 * The video provider is the real openai SDK pointed at the fixture.
 */
export const clientId = 'sora2-test-client';
export const clientSecret = 'sora2-test-client-secret';
export const publicUrl = 'http://sora.test';
export const googleSub = '109876543210';
export const userId = `google:${googleSub}`;

export type MovableClock = Clock & { readonly advance: (ms: number) => void };

export const movableClock = (start = Date.now()): MovableClock => {
  let now = start;
  return {
    now: () => now,
    sleep: async () => undefined,
    advance: (ms) => {
      now += ms;
    },
  };
};

export type Bench = {
  readonly app: App;
  readonly server: Server;
  readonly sora2: Sora2Exposed;
  readonly issuer: OidcIssuer;
  readonly fixture: SoraFixture;
  readonly clock: MovableClock;
  readonly store: EventStore;
  readonly close: () => Promise<void>;
};

export const envFor = (issuer: OidcIssuer, fixture: SoraFixture, extra: Record<string, string> = {}): Record<string, string> => ({
  EVENT_STORE: 'memory:',
  PUBLIC_URL: publicUrl,
  GOOGLE_CLIENT_ID: clientId,
  GOOGLE_CLIENT_SECRET: clientSecret,
  GOOGLE_ISSUER: issuer.issuer,
  OPENAI_API_KEY: fixture.apiKey,
  OPENAI_BASE_URL: fixture.baseURL,
  JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789',
  RATE_LIMIT_REQUESTS_PER_MIN: '100000',
  SWEEP_INTERVAL_MS: '3600000',
  LOG_LEVEL: 'silent',
  ...extra,
});

export const startBench = async (options: Partial<Omit<Sora2PluginOptions, 'app'>> = {}, extraEnv: Record<string, string> = {}): Promise<Bench> => {
  const clock = movableClock();
  const fixture = await startSoraFixture();
  const issuer = await startOidcIssuer({
    clientId,
    clientSecret,
    redirectUris: [`${publicUrl}/api/sora2/auth/callback`],
    user: { sub: googleSub, email: 'ada@example.com' },
    now: clock.now,
  });
  const env = envFor(issuer, fixture, extraEnv);
  const store = makeMemoryEventStore();
  const app = await buildApp(loadConfig(env), env, makeLogger('silent'), { clock, store });
  const video: VideoProvider = options.video ?? makeOpenAiVideoProvider({ apiKey: fixture.apiKey, baseURL: fixture.baseURL, maxRetries: 0, timeoutMs: 5000 });
  const server = new Hapi.Server();
  server.ext('onPreResponse', renderProblems);
  await server.register({ plugin: sora2Plugin, options: { app, pollIntervalMs: 0, ...options, video } });
  await server.initialize();
  const sora2 = (server.plugins as unknown as Record<string, Sora2Exposed>)['sora2'] as Sora2Exposed;
  return {
    app,
    server,
    sora2,
    issuer,
    fixture,
    clock,
    store,
    close: async () => {
      await sora2.poller.stop();
      await server.stop();
      const redis = app.redis;
      if (redis !== undefined) {
        const keys = await redis.keys(`${app.config.REDIS_PREFIX}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      await app.close();
      await Promise.all([issuer.close(), fixture.close()]);
    },
  };
};

export const bodyOf = <T = Record<string, unknown>>(response: ServerInjectResponse): T => JSON.parse(response.payload) as T;

const pathOf = (url: string): string => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

/** The confirmation page's form: the user code and the token bound to the page's cookie. */
export const confirmationForm = (html: string) => {
  const userCode = /name="user_code" value="([^"]+)"/.exec(html)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (userCode === undefined || csrf === undefined) throw new Error(`no confirmation form in: ${html.slice(0, 300)}`);
  return { userCode, csrf };
};

/** Start, open the link, confirm on the page, follow to the issuer and back to the callback; returns every step's response. */
export const signInSteps = async (bench: Bench) => {
  const start = await bench.server.inject({ method: 'POST', url: '/api/sora2/auth/start', payload: { clientName: 'Test GPT' } });
  const { deviceCode: code, verificationUriComplete: signInUrl } = bodyOf<{ deviceCode: string; verificationUriComplete: string }>(start);
  const confirmPage = await bench.server.inject({ method: 'GET', url: pathOf(signInUrl) });
  const cookie = String(confirmPage.headers['set-cookie'] ?? '').split(';')[0] ?? '';
  const form = confirmationForm(confirmPage.payload);
  const toGoogle = await bench.server.inject({
    method: 'POST',
    url: '/api/sora2/auth/device/confirm',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `user_code=${encodeURIComponent(form.userCode)}&csrf=${encodeURIComponent(form.csrf)}`,
  });
  const authorizeUrl = String(toGoogle.headers['location'] ?? '');
  const atIssuer = await fetch(authorizeUrl, { redirect: 'manual' });
  const callbackUrl = atIssuer.headers.get('location') ?? '';
  return { start, code, signInUrl, confirmPage, cookie, form, toGoogle, authorizeUrl, callbackUrl };
};

export const callback = (bench: Bench, callbackUrl: string, headers: Record<string, string> = {}) =>
  bench.server.inject({ method: 'GET', url: pathOf(callbackUrl), headers });

export const exchange = (bench: Bench, code: string) =>
  bench.server.inject({ method: 'POST', url: '/api/sora2/auth/session', payload: { deviceCode: code } });

/** The whole sign-in; returns the code and the session token. */
export const signIn = async (bench: Bench) => {
  const steps = await signInSteps(bench);
  const back = await callback(bench, steps.callbackUrl);
  if (back.statusCode !== 200) throw new Error(`callback answered ${back.statusCode}: ${back.payload}`);
  const session = await exchange(bench, steps.code);
  if (session.statusCode !== 200) throw new Error(`exchange answered ${session.statusCode}: ${session.payload}`);
  return { code: steps.code, sessionToken: bodyOf<{ sessionToken: string }>(session).sessionToken, session };
};

export const grant = async (bench: Bench, amount: number, accountId = userId) => {
  await bench.app.ledger.openAccount(accountId);
  const granted = await bench.app.ledger.grant({ accountId, grantId: `grant-${amount}-${bench.clock.now()}`, amount });
  if (E.isLeft(granted)) throw new Error(`grant failed: ${granted.left._tag}`);
};

export const generate = (bench: Bench, token: string, body: Record<string, unknown>) =>
  bench.server.inject({ method: 'POST', url: '/api/sora2/generate', headers: { authorization: `Bearer ${token}` }, payload: body });

export const getJob = (bench: Bench, token: string, jobId: string, suffix = '') =>
  bench.server.inject({ method: 'GET', url: `/api/sora2/jobs/${jobId}${suffix}`, headers: { authorization: `Bearer ${token}` } });

export const eventsOf = async (store: EventStore, streamName: string): Promise<RecordedEvent[]> => {
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(streamName)) events.push(event);
  return events;
};

export const typesOf = async (store: EventStore, streamName: string): Promise<string[]> => (await eventsOf(store, streamName)).map((e) => e.type);

/** Every stream name in the store, for "nothing else was written" checks. */
export const streamsOf = async (store: EventStore): Promise<Set<string>> => {
  const names = new Set<string>();
  for await (const event of store.readAll()) names.add(event.streamName);
  return names;
};
