import { Readable } from 'node:stream';
import type { Request } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { RateLimiter } from '../../../application/ports/rateLimiter.js';
import type { SignIn } from '../../../application/signin/signIn.js';
import type { Json } from '../../../application/ports/eventStore.js';
import type { JobIndex } from '../../../application/video/jobIndex.js';
import type { JobView, VideoJobs } from '../../../application/video/videoJobs.js';
import { extractToken } from '../../auth/jwtRequest.js';
import type { ParameterSpec, ResponseSpec, RouteSpec } from '../openapi.js';
import { commonProblems, problemResponse } from '../openapi.js';
import { respondIdempotent } from '../credits/spend.js';
import type { Idempotency, Outcome } from '../idempotency.js';
import { sha256Hex } from '../idempotency.js';
import { problem, problemBody } from '../problems.js';
import { consumeRestRequest } from '../rateLimit.js';
import { decodeInput } from '../schema.js';
import type { RouteDefinition } from '../route.js';
import { defineRoute } from '../route.js';
import { sessionOf } from './authScheme.js';
import { deviceRoutes } from './deviceRoutes.js';
import type { ContentLinks } from './contentLinks.js';
import { DOWNLOAD_TTL_MS } from './contentLinks.js';
import { callbackPage } from './callbackPage.js';
import { DownloadQuery, GenerateBody, GenerateIdempotencyKey, JobParams, JobsQuery, jobSchema } from './codecs.js';
import { signInErrorToProblem, signInNotConfigured, videoErrorToProblem } from './sora2Problems.js';

/**
 * The Sora 2 routes, each defined once (hapi route + OpenAPI spec). The flow a
 * Custom GPT follows: start -> the user confirms at the link and signs in with Google -> session ->
 * generate -> poll the job -> download the content.
 */
export type Sora2Deps = {
  /** Undefined when Google sign-in is not configured (the sign-in routes answer 503). */
  readonly signIn: SignIn | undefined;
  readonly jobs: VideoJobs;
  readonly jobIndex: JobIndex;
  readonly idempotency: Idempotency;
  readonly limiter: RateLimiter;
  /** Origin the browser and the GPT reach this server at (PUBLIC_URL). */
  readonly publicUrl: string;
  /** Signed download links for finished videos (what a GPT can give its user). */
  readonly contentLinks: ContentLinks;
};

const tags = ['sora2'];

const signInOf = (deps: Sora2Deps): SignIn => {
  if (deps.signIn === undefined) throw signInNotConfigured();
  return deps.signIn;
};

/** Unauthenticated routes are limited per client address, in the same buckets as users. */
const clientKey = (request: Request): string => `ip:${request.info.remoteAddress}`;

const iso = (ms: number): string => new Date(ms).toISOString();

const jobBody = (view: JobView, links: ContentLinks, userId: string) => ({
  jobId: view.jobId,
  status: view.status,
  progress: view.progress,
  model: view.model,
  seconds: view.seconds,
  resolution: view.size,
  heldCredits: view.heldCredits,
  ...(view.chargedCredits === undefined ? {} : { chargedCredits: view.chargedCredits }),
  createdAt: iso(view.createdAt),
  ...(view.endedAt === undefined ? {} : { endedAt: iso(view.endedAt) }),
  ...(view.error === undefined ? {} : { error: view.error }),
  ...(view.status === 'completed' ? { contentUrl: links.url(view.jobId, userId), contentUrlExpiresInSeconds: Math.floor(DOWNLOAD_TTL_MS / 1000) } : {}),
});

const json = (description: string, schema: RouteSpec['responses'][string]['schema']): ResponseSpec => ({ description, ...(schema === undefined ? {} : { schema }) });
const rateLimitedAndDown = { '429': problemResponse('Too many requests; see Retry-After.'), '503': problemResponse('Sign-in or the session store is unavailable.') };

/** Google adds its own parameters (scope, authuser, prompt, iss...) to the callback, so unknown ones are ignored here. */
const CallbackQuery = t.partial({ code: t.string, state: t.string, error: t.string });
const callbackParameters: readonly ParameterSpec[] = [
  { name: 'code', in: 'query', required: false, description: 'Authorization code from the identity provider.', schema: { type: 'string' } },
  { name: 'state', in: 'query', required: true, description: 'The state sent with the sign-in request.', schema: { type: 'string' } },
  { name: 'error', in: 'query', required: false, description: 'Set by the identity provider when sign-in failed.', schema: { type: 'string' } },
];

const signInRoutes = (deps: () => Sora2Deps): RouteDefinition[] => [
  defineRoute({
    method: 'GET',
    path: '/api/sora2/auth/callback',
    operationId: 'sora2SignInCallback',
    summary: 'Google sign-in callback',
    description: 'Where Google sends the browser back. Verifies the sign-in, links the Google account to a credit account and tells the user to return to the GPT.',
    tags,
    security: [],
    headers: callbackParameters,
    responses: {
      '200': { description: 'Signed in; a page telling the user to return to the GPT.', contentType: 'text/html', schema: { type: 'string' } },
      '400': problemResponse('Unknown, expired or reused state.'),
      '401': problemResponse('The ID token or the code did not verify.'),
      ...rateLimitedAndDown,
    },
    handler: async ({ request, h }) => {
      const flow = signInOf(deps());
      await consumeRestRequest(deps().limiter, clientKey(request));
      const query = CallbackQuery.is(request.query) ? request.query : {};
      const result = await flow.completeAuthorization({
        state: typeof query.state === 'string' ? query.state : '',
        ...(typeof query.code === 'string' ? { code: query.code } : {}),
        ...(typeof query.error === 'string' ? { error: query.error } : {}),
      });
      if (E.isLeft(result)) throw signInErrorToProblem(result.left);
      const accept = String(request.headers['accept'] ?? '');
      const wantsJson = accept.includes('application/json') && !accept.includes('text/html');
      const message = 'Signed in. Return to the GPT and tell it you are done; it will finish setting up your session.';
      const response = wantsJson ? h.response({ signedIn: true, message }) : h.response(callbackPage(message)).type('text/html; charset=utf-8');
      return response.header('Cache-Control', 'no-store');
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/sora2/auth/revoke',
    operationId: 'revokeSora2Session',
    summary: 'Sign out',
    description: 'Revokes the session token sent in the Authorization header; it stops working at once.',
    tags,
    security: ['sora2Session'],
    responses: { '200': json('Revoked.', { type: 'object', properties: { revoked: { const: true } }, required: ['revoked'] }), '401': commonProblems()['401'] as ResponseSpec },
    handler: async ({ request }) => {
      const revoked = await signInOf(deps()).revoke(extractToken(request.headers, undefined));
      if (E.isLeft(revoked)) throw signInErrorToProblem(revoked.left);
      return { revoked: true };
    },
  }),
];

const idempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: false,
  description: 'Optional, recommended: unique per logical video (e.g. a UUID). A retry with the same key and body returns the same job (for 24 h) and never takes a second hold or starts a second job; another body is 409.',
  schema: { type: 'string', minLength: 1, maxLength: 200 },
};

const keyOf = (headers: Readonly<Record<string, unknown>>): string | undefined => {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const decoded = decodeInput(GenerateIdempotencyKey, 'headers', raw);
  if (E.isLeft(decoded)) throw problem(400, 'invalid-idempotency-key', 'Invalid Idempotency-Key', 'The Idempotency-Key must be 1 to 200 printable ASCII characters.');
  return decoded.right;
};

/** The job id behind (user, key): the same on every retry, even if the key store forgot the key. */
const jobIdFor = (userId: string, key: string): string => `job_${sha256Hex(`sora2-generate\n${userId}\n${key}`).slice(0, 40)}`;

const videoRoutes = (deps: () => Sora2Deps): RouteDefinition[] => [
  defineRoute({
    method: 'POST',
    path: '/api/sora2/generate',
    operationId: 'generateSora2Video',
    summary: 'Generate a video',
    description: 'Prices the video from the price sheet (per second and resolution), holds the credits, and starts the job. Poll getSora2Job until it is completed; the hold is charged then, or released if it fails.',
    tags,
    security: ['sora2Session'],
    payload: GenerateBody,
    payloadDescription: 'What to generate.',
    payloadExample: { prompt: 'A beautiful sunset over the ocean', duration: 8, resolution: '1280x720' },
    headers: [idempotencyHeader],
    maxBytes: 16_384,
    responses: {
      '202': json('The job was created; credits are on hold.', jobSchema),
      ...commonProblems(),
      '400': problemResponse('Invalid body, or a duration/resolution Sora 2 does not offer (see `allowed`).'),
      '402': problemResponse('Not enough credits; nothing was charged.'),
      '403': problemResponse('The account may not use Sora 2.'),
      '409': problemResponse('The Idempotency-Key was used with another body, or its first request is still running.'),
      '422': problemResponse('The provider refused the prompt; nothing was charged.'),
    },
    handler: async ({ payload: body, request, h }) => {
      const { userId, sessionId } = sessionOf(request);
      // The key may come in the header or, for clients that cannot send headers (GPT Actions), in the body.
      const { idempotencyKey: bodyKey, ...payload } = body;
      const key = keyOf(request.headers) ?? bodyKey;
      await consumeRestRequest(deps().limiter, userId);
      if (key === undefined) {
        const created = await deps().jobs.generate({ userId, ...(sessionId === undefined ? {} : { sessionId }), ...payload });
        if (E.isLeft(created)) throw videoErrorToProblem(created.left);
        return h.response(jobBody(created.right, deps().contentLinks, userId)).code(202);
      }
      const jobId = jobIdFor(userId, key);
      const result = await deps().idempotency.run({ scope: 'sora2-generate', callerId: userId, key, request: { path: request.path, ...payload } }, async (): Promise<Outcome> => {
        const created = await deps().jobs.generate({ userId, ...(sessionId === undefined ? {} : { sessionId }), jobId, ...payload });
        if (E.isRight(created)) return { status: 202, body: jobBody(created.right, deps().contentLinks, userId) as unknown as Json, final: true };
        const boom = videoErrorToProblem(created.left);
        // A refusal is this key's outcome; an outage is not (the retry finds the same job id and never repeats it).
        return { status: boom.output.statusCode, body: problemBody(boom, request.path) as unknown as Json, final: boom.output.statusCode < 500 };
      });
      return respondIdempotent(h, result);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/sora2/jobs',
    operationId: 'listSora2Jobs',
    summary: 'List my video jobs',
    description: 'The jobs of this account, newest first, with their status and what they were charged. Does not poll the provider; open a job to refresh it.',
    tags,
    security: ['sora2Session'],
    query: JobsQuery,
    responses: {
      '200': json('A page of jobs.', {
        type: 'object',
        required: ['jobs', 'total'],
        properties: { jobs: { type: 'array', items: jobSchema }, total: { type: 'integer', description: 'Jobs of this account in all.' } },
      }),
      ...commonProblems(),
    },
    handler: async ({ query, request }) => {
      const { userId } = sessionOf(request);
      await consumeRestRequest(deps().limiter, userId);
      const page = deps().jobIndex.jobsOf(userId, { limit: query.limit ?? 20, offset: query.offset ?? 0 });
      const views = await deps().jobs.list(page.ids, userId);
      return { jobs: views.map((view) => jobBody(view, deps().contentLinks, userId)), total: page.total };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/sora2/jobs/{id}',
    operationId: 'getSora2Job',
    summary: 'Video job status',
    description: 'Status of a job of this account (queued, in_progress, completed, failed). When completed, contentUrl is where to download the video and chargedCredits what it cost.',
    tags,
    security: ['sora2Session'],
    params: JobParams,
    responses: { '200': json('The job.', jobSchema), ...commonProblems(), '404': problemResponse('No such job for this account.') },
    handler: async ({ params, request }) => {
      const { userId } = sessionOf(request);
      await consumeRestRequest(deps().limiter, userId);
      const status = await deps().jobs.status(params.id, userId);
      if (E.isLeft(status)) throw videoErrorToProblem(status.left);
      return jobBody(status.right, deps().contentLinks, userId);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/sora2/jobs/{id}/content',
    operationId: 'getSora2JobContent',
    summary: 'Download the video',
    description: 'The MP4 of a completed job of this account.',
    tags,
    security: ['sora2Session'],
    params: JobParams,
    responses: {
      '200': { description: 'The video.', contentType: 'video/mp4', schema: { type: 'string', format: 'binary' } },
      ...commonProblems(),
      '404': problemResponse('No such job for this account.'),
      '409': problemResponse('The job is not completed yet.'),
      '502': problemResponse('The provider no longer has the content.'),
    },
    handler: async ({ params, request, h }) => {
      const { userId } = sessionOf(request);
      await consumeRestRequest(deps().limiter, userId);
      const content = await deps().jobs.content(params.id, userId);
      if (E.isLeft(content)) throw videoErrorToProblem(content.left);
      const { body, contentType, contentLength } = content.right;
      const response = h.response(Readable.from(body, { objectMode: false })).type(contentType).header('Content-Disposition', `attachment; filename="${params.id}.mp4"`);
      return contentLength === undefined ? response : response.header('Content-Length', String(contentLength));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/sora2/downloads/{id}',
    operationId: 'downloadSora2Video',
    summary: 'Download a video by its signed link',
    description: 'The MP4 of a completed job, for the contentUrl a job status returns: no token needed, the link is signed for one job and its owner and expires after 15 minutes.',
    tags,
    security: [],
    params: JobParams,
    query: DownloadQuery,
    responses: {
      '200': { description: 'The video.', contentType: 'video/mp4', schema: { type: 'string', format: 'binary' } },
      '403': problemResponse('The link is altered, for another job, or expired: get a fresh one from the job status.'),
      '404': problemResponse('No such job.'),
      '409': problemResponse('The job is not completed yet.'),
      '502': problemResponse('The provider no longer has the content.'),
    },
    handler: async ({ params, query, request, h }) => {
      const userId = deps().contentLinks.verify(params.id, query);
      if (userId === undefined) throw problem(403, 'download-link-invalid', 'Download link not valid', 'This download link is altered, for another job, or expired. Ask for the job status again for a fresh link.');
      await consumeRestRequest(deps().limiter, userId);
      const content = await deps().jobs.content(params.id, userId);
      if (E.isLeft(content)) throw videoErrorToProblem(content.left);
      const { body, contentType, contentLength } = content.right;
      const response = h.response(Readable.from(body, { objectMode: false })).type(contentType).header('Content-Disposition', `attachment; filename="${params.id}.mp4"`).header('Cache-Control', 'private, no-store').header('Referrer-Policy', 'no-referrer');
      void request;
      return contentLength === undefined ? response : response.header('Content-Length', String(contentLength));
    },
  }),
];

/** The route definitions; `deps` is read at request time (the plugin builds them at registration). */
export const sora2Routes = (deps: () => Sora2Deps): RouteDefinition[] => [...deviceRoutes(deps), ...signInRoutes(deps), ...videoRoutes(deps)];

const specOnly = (): Sora2Deps => {
  throw new Error('sora2RouteSpecs are documentation; register sora2Plugin to serve the routes');
};

/** The OpenAPI specs of the Sora 2 routes, for the document built in adapters/http. */
export const sora2RouteSpecs: readonly RouteSpec[] = sora2Routes(specOnly).map((definition) => definition.spec);
