import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { SignIn } from '../../../application/signin/signIn.js';
import { problemResponse } from '../openapi.js';
import { consumeRestRequest } from '../rateLimit.js';
import type { RouteDefinition } from '../route.js';
import { defineRoute } from '../route.js';
import { problem } from '../problems.js';
import { boundedString } from '../schema.js';
import type { JsonSchema } from '../schema.js';
import type { RateLimiter } from '../../../application/ports/rateLimiter.js';
import { signInErrorToProblem, signInNotConfigured } from './sora2Problems.js';
import { sessionResponseSchema } from './codecs.js';

/**
 * The Sora 2 sign-in, shaped like OAuth device authorization (RFC 8628) so a
 * link sent by someone else cannot buy a session on the reader's credits:
 *
 * 1. The client (a GPT) calls start and receives a secret device code (only
 *    ever in request and response bodies) and a short user code with a link.
 * 2. The person opens the link: a confirmation page names who asked (the
 *    client's declared name, its address, when) and the user code their own
 *    application shows. Nothing happens on a GET: only "Continue", posted
 *    from that page with a token bound to a same-site cookie, leads to Google.
 *    "This was not me" ends the sign-in for good.
 * 3. The client exchanges the device code (POST body) for the session token.
 *
 * The old flow put the one secret in the link, so whoever sent the link got
 * the session once the reader clicked through Google.
 */
/** What the sign-in routes need (a structural slice of the plugin's Sora2Deps). */
type Sora2Deps = { readonly signIn: SignIn | undefined; readonly limiter: RateLimiter; readonly publicUrl: string };

const tags = ['sora2'];
const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
const COOKIE = 'sora2_confirm';
const iso = (ms: number): string => new Date(ms).toISOString();
const clientKey = (request: Request): string => `ip:${request.info.remoteAddress}`;

const DeviceCode = boundedString('DeviceCode', 64, /^[A-Za-z0-9_-]+$/, 'The deviceCode from sora2StartSignIn. Keep it secret; send it only in this body.');
const SessionBody = t.type({ deviceCode: DeviceCode });
const ClientName = boundedString('ClientName', 80, /^[\p{L}\p{N} .,'()_-]+$/u, 'Your application\'s name, shown to the person on the confirmation page.');
const StartBody = t.partial({ clientName: ClientName });

const startSchema = {
  type: 'object',
  properties: {
    deviceCode: { type: 'string', description: 'Secret; exchange it at getSora2Session once the user has signed in. Never put it in a URL.' },
    userCode: { type: 'string', description: 'Show this to the user; the page they open shows it too.' },
    verificationUri: { type: 'string', format: 'uri' },
    verificationUriComplete: { type: 'string', format: 'uri', description: 'The link to show the user (it carries only the user code).' },
    expiresAt: { type: 'string', format: 'date-time' },
    interval: { type: 'integer', description: 'Seconds to wait between session polls.' },
    instructions: { type: 'string' },
  },
  required: ['deviceCode', 'userCode', 'verificationUri', 'verificationUriComplete', 'expiresAt', 'interval'],
} as const;


const down = { '429': problemResponse('Too many requests; see Retry-After.'), '503': problemResponse('Sign-in or the session store is unavailable.') };

const signInOf = (deps: Sora2Deps): SignIn => {
  if (deps.signIn === undefined) throw signInNotConfigured();
  return deps.signIn;
};

/** The JSON routes a client calls (in the OpenAPI document). */
export const deviceRoutes = (deps: () => Sora2Deps): RouteDefinition[] => [
  defineRoute({
    method: 'POST',
    path: '/api/sora2/auth/start',
    operationId: 'sora2StartSignIn',
    summary: 'Start Sora 2 sign-in',
    description: 'Creates a sign-in (15 min): a secret deviceCode for you, and a userCode with a link for the user. Show the link, then call getSora2Session with the deviceCode.',
    tags,
    security: [],
    payload: StartBody,
    payloadDescription: 'Optional: your application\'s name, shown on the confirmation page.',
    maxBytes: 1024,
    responses: { '201': { description: 'The sign-in was created.', schema: startSchema as unknown as JsonSchema }, ...down },
    handler: async ({ payload, request, h }) => {
      const flow = signInOf(deps());
      await consumeRestRequest(deps().limiter, clientKey(request));
      const userAgent = request.headers['user-agent'];
      const started = await flow.start({
        address: request.info.remoteAddress,
        ...(payload.clientName === undefined ? {} : { name: payload.clientName }),
        ...(typeof userAgent === 'string' ? { userAgent: userAgent.slice(0, 200) } : {}),
      });
      const verificationUri = `${deps().publicUrl}/api/sora2/auth/device`;
      return h
        .response({
          deviceCode: started.deviceCode,
          userCode: started.userCode,
          verificationUri,
          verificationUriComplete: `${verificationUri}?user_code=${started.userCode}`,
          expiresAt: iso(started.expiresAt),
          interval: 5,
          instructions: `Ask the user to open verificationUriComplete, check that it shows ${started.userCode}, and sign in with Google. Then exchange deviceCode at POST /api/sora2/auth/session.`,
        })
        .code(201)
        .header('Cache-Control', 'no-store');
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/sora2/auth/session',
    operationId: 'getSora2Session',
    summary: 'Exchange the device code for a session token',
    description: 'After the user signed in, exchanges the deviceCode (once) for a session token valid 24 hours. 409 code-not-authorized: the user has not finished yet; retry after `interval` seconds.',
    tags,
    security: [],
    payload: SessionBody,
    maxBytes: 1024,
    responses: {
      '200': { description: 'The session token.', schema: sessionResponseSchema },
      '404': problemResponse('Unknown, denied or expired sign-in.'),
      '409': problemResponse('Already exchanged, or sign-in not finished yet.'),
      '410': problemResponse('Sign-in expired.'),
      ...down,
    },
    handler: async ({ payload, request, h }) => {
      const flow = signInOf(deps());
      await consumeRestRequest(deps().limiter, clientKey(request));
      const exchanged = await flow.exchange(payload.deviceCode);
      if (E.isLeft(exchanged)) throw signInErrorToProblem(exchanged.left);
      const response = h.response({ sessionToken: exchanged.right.sessionToken, expiresAt: iso(exchanged.right.expiresAt), tokenType: 'Bearer' });
      for (const [name, value] of Object.entries(noStore)) response.header(name, value);
      return response;
    },
  }),
];

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const page = (h: ResponseToolkit, title: string, body: string, status = 200) =>
  h
    .response(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}.code{font:700 1.6rem monospace;letter-spacing:.15em}button,input{font-size:1rem;padding:.4rem .8rem;margin:.25rem .5rem .25rem 0}</style></head><body>${body}</body></html>`)
    .type('text/html; charset=utf-8')
    .code(status)
    .header('Cache-Control', 'no-store')
    .header('Referrer-Policy', 'no-referrer')
    .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");

const enterCodePage = (h: ResponseToolkit, message = '') =>
  page(
    h,
    'Sora 2 sign-in',
    `<h1>Sora 2 sign-in</h1>${message === '' ? '' : `<p><strong>${escapeHtml(message)}</strong></p>`}
<form method="get" action="/api/sora2/auth/device"><label>Code shown by your application <input name="user_code" autocomplete="off" maxlength="12" required></label><button type="submit">Next</button></form>`,
    message === '' ? 200 : 404,
  );

/** The confirmation pages a person sees in a browser (not part of the API document). */
export const devicePages = (deps: () => Sora2Deps, csrfSecret: string): ServerRoute[] => {
  const tokenFor = (nonce: string, userCode: string) => createHmac('sha256', csrfSecret).update(`${nonce}\n${userCode}`).digest('base64url');
  const checked = (request: Request, userCode: string) => {
    const nonce = request.state[COOKIE] as string | undefined;
    const sent = (request.payload as Record<string, unknown> | null)?.['csrf'];
    if (typeof nonce !== 'string' || typeof sent !== 'string') return false;
    const expected = tokenFor(nonce, userCode);
    return sent.length === expected.length && timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
  };
  const form = { parse: true, output: 'data' as const, allow: 'application/x-www-form-urlencoded', maxBytes: 2048 };
  const userCodeOf = (request: Request) => String((request.payload as Record<string, unknown> | null)?.['user_code'] ?? '').slice(0, 20);

  return [
    {
      method: 'GET',
      path: '/api/sora2/auth/device',
      options: { auth: false, state: { parse: true, failAction: 'ignore' } },
      handler: async (request, h) => {
        const flow = signInOf(deps());
        await consumeRestRequest(deps().limiter, clientKey(request));
        const raw = request.query['user_code'];
        if (typeof raw !== 'string' || raw.length === 0) return enterCodePage(h);
        const found = await flow.confirmation(raw.slice(0, 20));
        if (E.isLeft(found)) return enterCodePage(h, 'That code is unknown, used or expired. Check the code your application shows.');
        const { userCode, requester } = found.right;
        const nonce = randomBytes(24).toString('base64url');
        const csrf = tokenFor(nonce, userCode);
        const who = requester.name === undefined ? 'An application' : `An application calling itself “${requester.name}”`;
        return page(
          h,
          'Confirm Sora 2 sign-in',
          `<h1>Did you start this sign-in?</h1>
<p>${escapeHtml(who)} asked to sign in to your Sora 2 credits at ${escapeHtml(iso(requester.at))} from ${escapeHtml(requester.address)}${requester.userAgent === undefined ? '' : ` (${escapeHtml(requester.userAgent)})`}.</p>
<p>Your own application should be showing this code:</p><p class="code">${escapeHtml(userCode)}</p>
<p>Continue only if you started this yourself, just now, and your application shows the same code. If someone sent you this link, choose “This was not me”: signing in would give them your credits.</p>
<form method="post" action="/api/sora2/auth/device/confirm"><input type="hidden" name="user_code" value="${escapeHtml(userCode)}"><input type="hidden" name="csrf" value="${csrf}">
<button type="submit">Continue with Google</button><button type="submit" formaction="/api/sora2/auth/device/deny">This was not me</button></form>`,
        ).state(COOKIE, nonce, { path: '/api/sora2/auth/device', isSameSite: 'Strict', isHttpOnly: true, isSecure: deps().publicUrl.startsWith('https:'), ttl: 15 * 60 * 1000, encoding: 'none' });
      },
    },
    {
      method: 'POST',
      path: '/api/sora2/auth/device/confirm',
      options: { auth: false, payload: form, state: { parse: true, failAction: 'ignore' } },
      handler: async (request, h) => {
        const flow = signInOf(deps());
        await consumeRestRequest(deps().limiter, clientKey(request));
        const userCode = userCodeOf(request);
        if (!checked(request, userCode)) throw problem(403, 'confirmation-required', 'Confirmation required', 'Open the sign-in link and confirm on that page.');
        const begun = await flow.beginAuthorization(userCode);
        if (E.isLeft(begun)) throw signInErrorToProblem(begun.left);
        return h.redirect(begun.right.url).code(303).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer');
      },
    },
    {
      method: 'POST',
      path: '/api/sora2/auth/device/deny',
      options: { auth: false, payload: form, state: { parse: true, failAction: 'ignore' } },
      handler: async (request, h) => {
        const flow = signInOf(deps());
        const userCode = userCodeOf(request);
        if (!checked(request, userCode)) throw problem(403, 'confirmation-required', 'Confirmation required', 'Open the sign-in link and confirm on that page.');
        const denied = await flow.deny(userCode);
        if (E.isLeft(denied)) throw signInErrorToProblem(denied.left);
        return page(h, 'Sign-in cancelled', '<h1>Sign-in cancelled</h1><p>Nobody can use this sign-in now. You can close this page.</p>');
      },
    },
  ];
};
