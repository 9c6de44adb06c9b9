import type { Plugin } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { VideoProvider } from '../../../application/ports/videoProvider.js';
import type { OAuthClient } from '../../../application/signin/oauthClient.js';
import type { Secrets } from '../../../application/signin/secrets.js';
import { cryptoSecrets } from '../../system/secrets.js';
import type { SignIn } from '../../../application/signin/signIn.js';
import { makeSignIn } from '../../../application/signin/signIn.js';
import type { JobIndex } from '../../../application/video/jobIndex.js';
import { makeJobIndex } from '../../../application/video/jobIndex.js';
import type { VideoPoller } from '../../../application/video/poller.js';
import { makeVideoPoller } from '../../../application/video/poller.js';
import type { VideoJobs } from '../../../application/video/videoJobs.js';
import { makeVideoJobs } from '../../../application/video/videoJobs.js';
import type { App } from '../../app.js';
import { googleOAuthFromConfig, publicBaseUrl } from '../../auth/googleOAuth.js';
import { videoProviderFromConfig } from '../../video/fromConfig.js';
import { makeIdempotency } from '../idempotency.js';
import { registerSora2SessionAuth } from './authScheme.js';
import type { Sora2Deps } from './routes.js';
import { sora2Routes } from './routes.js';
import { devicePages } from './deviceRoutes.js';
import { makeContentLinks } from './contentLinks.js';
import { randomBytes } from 'node:crypto';

/**
 * The Sora 2 plugin: the `sora2-session` auth scheme, the sign-in and video
 * routes under /api/sora2, and the background poller that settles jobs. The
 * server that registers it renders problems (onPreResponse) for all plugins.
 *
 * Register with `{ plugin: sora2Plugin, options: { app } }`. The video provider
 * is Sora 2 when OPENAI_API_KEY is set, the scripted one otherwise; sign-in is
 * Google OIDC when GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are set, and the
 * sign-in routes answer 503 otherwise.
 */
export type Sora2PluginOptions = {
  readonly app: App;
  /** Overrides (tests); default from the app's configuration. */
  readonly video?: VideoProvider;
  readonly oauth?: OAuthClient;
  readonly secrets?: Secrets;
  /** How often running jobs are polled in the background; 0 turns the poller off. Default 5000. */
  readonly pollIntervalMs?: number;
  /** How long a job's credit hold lasts. Default 2 h. */
  readonly holdTtlMs?: number;
};

/** What the plugin exposes as `server.plugins.sora2` (tests, /stats). */
export type Sora2Exposed = {
  readonly signIn: SignIn | undefined;
  readonly jobs: VideoJobs;
  readonly poller: VideoPoller;
  readonly video: VideoProvider;
};

/** A key every instance shares when one is configured (the JWT secret, else Google's client secret). */
const sharedSecret = new WeakMap<object, string>();
const linkSecret = (app: App): string => {
  const known = app.jwtSecret ?? app.config.GOOGLE_CLIENT_SECRET;
  if (known !== undefined) return `sora2-links:${known}`;
  let secret = sharedSecret.get(app);
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    sharedSecret.set(app, secret);
  }
  return secret;
};

export const buildSora2 = (options: Sora2PluginOptions): Sora2Exposed & { readonly deps: Sora2Deps; readonly jobIndex: JobIndex } => {
  const { app } = options;
  const video = options.video ?? videoProviderFromConfig(app.config);
  const oauth = options.oauth ?? googleOAuthFromConfig(app.config, app.clock.now);
  const signIn =
    oauth === undefined
      ? undefined
      : makeSignIn({
          store: app.store,
          sessions: app.sessions,
          oauth,
          openAccount: async (userId) => {
            const opened = await app.ledger.openAccount(userId);
            if (E.isLeft(opened)) throw new Error(`opening account ${userId} failed: ${opened.left._tag}`);
          },
          clock: app.clock,
          ids: app.ids,
          logger: app.logger,
          secrets: options.secrets ?? cryptoSecrets,
        });
  const jobs = makeVideoJobs({
    store: app.store,
    ledger: app.ledger,
    access: app.access,
    provider: video,
    prices: () => app.llm.prices.current(),
    clock: app.clock,
    ids: app.ids,
    logger: app.logger,
    ...(options.holdTtlMs === undefined ? {} : { holdTtlMs: options.holdTtlMs }),
  });
  const poller = makeVideoPoller({ store: app.store, jobs, logger: app.logger, intervalMs: options.pollIntervalMs || 5000, supervisor: app.supervisor });
  const jobIndex = makeJobIndex({ store: app.store, clock: app.clock, logger: app.logger, supervisor: app.supervisor });
  const idempotency = makeIdempotency({ store: app.sessions.idempotency, logger: app.logger });
  return { signIn, jobs, poller, video, jobIndex, deps: { signIn, jobs, jobIndex, idempotency, limiter: app.limiter, publicUrl: publicBaseUrl(app.config), contentLinks: makeContentLinks({ secret: linkSecret(app), publicUrl: publicBaseUrl(app.config), now: app.clock.now }) } };
};

export const sora2Plugin: Plugin<Sora2PluginOptions> = {
  name: 'sora2',
  register: (server, options) => {
    const built = buildSora2(options);
    registerSora2SessionAuth(server, () => built.signIn, options.app.verifier);

    server.route(sora2Routes(() => built.deps).map((definition) => definition.route));
    // The confirmation pages' form tokens are keyed by a secret every instance shares when one is configured.
    const pageSecret = options.app.jwtSecret ?? options.app.config.GOOGLE_CLIENT_SECRET ?? randomBytes(32).toString('base64url');
    server.route(devicePages(() => built.deps, pageSecret));
    const exposed: Sora2Exposed = { signIn: built.signIn, jobs: built.jobs, poller: built.poller, video: built.video };
    server.expose(exposed);
    server.ext('onPreStart', () => built.jobIndex.start());
    server.ext('onPostStop', () => built.jobIndex.stop());
    if (options.pollIntervalMs !== 0) {
      server.ext('onPreStart', () => built.poller.start());
      server.ext('onPostStop', () => built.poller.stop());
    }
  },
};
