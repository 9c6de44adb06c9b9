import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { Provider } from './provider.js';
import type { InteractionDetails } from 'oidc-provider';
import { userIdOf } from '../../application/signin/signIn.js';
import type { OAuthClient } from '../../application/signin/oauthClient.js';
import type { App } from '../app.js';

/**
 * The two pages a person sees while a client asks for a token:
 * 1. login: they are sent to Google (PKCE, state and nonce kept here, single
 *    use, 10 minutes); Google sends them back to /oauth/callback, which returns
 *    them to their interaction (the interaction cookie is scoped to its path),
 *    where the code is redeemed and the ledger user id is Google's subject.
 * 2. consent: the page names the client, its redirect host, the scopes and
 *    the API they are for; Allow or Deny, posted with a token bound to the
 *    interaction, so another site cannot approve on the person's behalf.
 */
const PENDING_TTL_MS = 10 * 60 * 1000;
const PENDING_MAX = 10_000;

type PendingLogin = { readonly uid: string; readonly nonce: string; readonly verifier: string; readonly expiresAt: number };

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const page = (h: ResponseToolkit, title: string, body: string, status = 200) =>
  h
    .response(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}code{background:#f3f3f3;padding:0 .25rem}</style></head>
<body>${body}</body></html>`)
    .type('text/html')
    .code(status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");

const SCOPE_TEXT: Readonly<Record<string, string>> = {
  'credits:read': 'See your credit balance, history and usage',
  'credits:deduct': 'Spend your credits directly',
  'llm:use': 'Run chat completions paid from your credits',
  'sora2:use': 'Generate Sora 2 videos paid from your credits',
  offline_access: 'Stay signed in (refresh tokens)',
  openid: 'Know your ledger user id',
};

export const interactionRoutes = (deps: { provider: Provider; app: App; google: OAuthClient | undefined; csrfKey: string; base: string }): ServerRoute[] => {
  const { provider, app, google } = deps;
  const pending = new Map<string, PendingLogin>();
  const csrfOf = (uid: string) => createHmac('sha256', deps.csrfKey).update(uid).digest('base64url');
  const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  const prune = () => {
    const now = app.clock.now();
    for (const [state, p] of pending) if (p.expiresAt <= now) pending.delete(state);
  };

  const startLogin = async (h: ResponseToolkit, uid: string) => {
    if (google === undefined) return page(h, 'Sign-in unavailable', '<h1>Sign-in unavailable</h1><p>Google sign-in is not configured on this server.</p>', 503);
    prune();
    if (pending.size >= PENDING_MAX) return page(h, 'Busy', '<h1>Too many sign-ins in progress</h1><p>Try again in a minute.</p>', 503);
    const state = randomBytes(24).toString('base64url');
    const nonce = randomBytes(24).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    pending.set(state, { uid, nonce, verifier, expiresAt: app.clock.now() + PENDING_TTL_MS });
    const url = await google.authorizationUrl({ state, nonce, codeChallenge: createHash('sha256').update(verifier).digest('base64url') });
    if (E.isLeft(url)) return page(h, 'Sign-in unavailable', '<h1>Google cannot be reached</h1><p>Try again shortly.</p>', 503);
    return h.redirect(url.right).code(303);
  };

  const consentPage = async (h: ResponseToolkit, details: InteractionDetails) => {
    const clientId = String(details.params['client_id'] ?? '');
    const client = await provider.Client.find(clientId);
    const name = client?.clientName ?? clientId;
    const redirectHost = (() => {
      try {
        return new URL(String(details.params['redirect_uri'] ?? '')).host;
      } catch {
        return 'unknown';
      }
    })();
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    const scopes = new Set<string>([...(missing.missingOIDCScope ?? []), ...Object.values(missing.missingResourceScopes ?? {}).flat()]);
    const resources = Object.keys(missing.missingResourceScopes ?? {});
    const items = [...scopes].map((s) => `<li><code>${escapeHtml(s)}</code> ${escapeHtml(SCOPE_TEXT[s] ?? '')}</li>`).join('');
    const csrf = csrfOf(details.uid);
    return page(
      h,
      'Allow access?',
      `<h1>Allow <strong>${escapeHtml(name)}</strong> to use your credits?</h1>
<p>Signed in as <code>${escapeHtml(details.session?.accountId ?? '')}</code>. The application will be sent back to <code>${escapeHtml(redirectHost)}</code>.</p>
<p>It asks to:</p><ul>${items}</ul>${resources.length === 0 ? '' : `<p>For: ${resources.map((r) => `<code>${escapeHtml(r)}</code>`).join(', ')}</p>`}
<form method="post" action="/oauth/interaction/${escapeHtml(details.uid)}/confirm"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Allow</button>
<button type="submit" formaction="/oauth/interaction/${escapeHtml(details.uid)}/abort">Deny</button></form>`,
    );
  };

  const details = (request: Request) => provider.interactionDetails(request.raw.req, request.raw.res);

  const finish = async (request: Request, h: ResponseToolkit, result: Record<string, unknown>) => {
    await provider.interactionFinished(request.raw.req, request.raw.res, result, { mergeWithLastSubmission: true });
    return h.abandon;
  };

  const csrfChecked = (request: Request, uid: string) => {
    const sent = (request.payload as Record<string, unknown> | null)?.['csrf'];
    return typeof sent === 'string' && sameToken(sent, csrfOf(uid));
  };

  const formPayload = { parse: true, output: 'data' as const, allow: 'application/x-www-form-urlencoded', maxBytes: 4096 };

  return [
    {
      method: 'GET',
      path: '/oauth/interaction/{uid}',
      options: { auth: false },
      handler: async (request, h) => {
        const found = await details(request);
        if (found.prompt.name === 'login') return startLogin(h, found.uid);
        if (found.prompt.name === 'consent') return consentPage(h, found);
        return page(h, 'Unsupported', '<h1>This sign-in step is not supported.</h1>', 400);
      },
    },
    {
      method: 'GET',
      path: '/oauth/callback',
      options: { auth: false },
      handler: (request, h) => {
        const state = String(request.query['state'] ?? '');
        const found = pending.get(state);
        if (found === undefined || found.expiresAt <= app.clock.now()) return page(h, 'Sign-in expired', '<h1>This sign-in has expired</h1><p>Start again from the application.</p>', 400);
        // Back to the interaction's own path, where its cookie is sent, to finish there.
        const params = new URLSearchParams({ state, ...(typeof request.query['code'] === 'string' ? { code: request.query['code'] } : {}), ...(typeof request.query['error'] === 'string' ? { error: request.query['error'] } : {}) });
        return h.redirect(`/oauth/interaction/${encodeURIComponent(found.uid)}/login?${params.toString()}`).code(303);
      },
    },
    {
      method: 'GET',
      path: '/oauth/interaction/{uid}/login',
      options: { auth: false },
      handler: async (request, h) => {
        const state = String(request.query['state'] ?? '');
        const found = pending.get(state);
        pending.delete(state);
        const interaction = await details(request);
        if (found === undefined || found.uid !== interaction.uid || found.expiresAt <= app.clock.now()) {
          return page(h, 'Sign-in expired', '<h1>This sign-in has expired</h1><p>Start again from the application.</p>', 400);
        }
        const code = request.query['code'];
        if (google === undefined || typeof code !== 'string') return finish(request, h, { error: 'access_denied', error_description: 'Google sign-in was not completed.' });
        const identity = await google.exchange({ code, codeVerifier: found.verifier, nonce: found.nonce });
        if (E.isLeft(identity)) {
          app.logger.warn({ reason: identity.left._tag }, 'oauth sign-in: Google identity refused');
          return finish(request, h, { error: 'access_denied', error_description: 'Google sign-in failed.' });
        }
        const userId = userIdOf(identity.right.subject);
        const opened = await app.ledger.openAccount(userId);
        if (E.isLeft(opened)) return finish(request, h, { error: 'server_error', error_description: 'The account could not be opened.' });
        app.logger.info({ userId, interaction: interaction.uid }, 'oauth sign-in: signed in with Google');
        return finish(request, h, { login: { accountId: userId } });
      },
    },
    {
      method: 'POST',
      path: '/oauth/interaction/{uid}/confirm',
      options: { auth: false, payload: formPayload },
      handler: async (request, h) => {
        const interaction = await details(request);
        if (interaction.prompt.name !== 'consent' || !csrfChecked(request, interaction.uid)) return page(h, 'Refused', '<h1>This approval is not valid.</h1>', 403);
        const accountId = interaction.session?.accountId;
        if (accountId === undefined) return page(h, 'Refused', '<h1>Not signed in.</h1>', 403);
        const grant =
          (interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId)) ??
          new provider.Grant({ accountId, clientId: String(interaction.params['client_id']) });
        const missing = interaction.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
        if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
        const grantId = await grant.save();
        return finish(request, h, { consent: { grantId } });
      },
    },
    {
      method: 'POST',
      path: '/oauth/interaction/{uid}/abort',
      options: { auth: false, payload: formPayload },
      handler: async (request, h) => {
        const interaction = await details(request);
        if (!csrfChecked(request, interaction.uid)) return page(h, 'Refused', '<h1>This request is not valid.</h1>', 403);
        return finish(request, h, { error: 'access_denied', error_description: 'The user denied the request.' });
      },
    },
  ];
};
