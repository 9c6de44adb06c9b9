import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import type { Kit } from '../../int/http/httpKit.js';
import { makeKit } from '../../int/http/httpKit.js';
import { makeLogger } from '../../../adapters/logging.js';
import type { OidcIssuer } from '../../support/oidcIssuer.js';
import { startOidcIssuer } from '../../support/oidcIssuer.js';
import { makeBrowser } from './browser.js';

/**
 * The OAuth 2.1 authorization server from outside, with real client libraries:
 * openid-client plays a ChatGPT GPT (static client, code + PKCE, Google sign-in
 * played by the local test issuer, consent, refresh), and the MCP SDK's own
 * client signs an agent in through discovery and dynamic registration.
 */
const GPT_REDIRECT = 'https://chat.openai.com/aip/g-test/oauth/callback';
const GPT = { client_id: 'gpt-test', client_secret: 'gpt-secret-0123456789abcdef', client_name: 'Video Maker GPT', redirect_uris: [GPT_REDIRECT] };

let kit: Kit;
let issuer: OidcIssuer;
let base: string;

// Everything the service logs, and the secrets the flows below handle: none of them may reach a log line.
const logged: string[] = [];
const secrets: string[] = [GPT.client_secret, 'google-secret'];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logged.push(chunk.toString());
    done();
  },
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  const port = await freePort();
  base = `http://localhost:${port}`;
  issuer = await startOidcIssuer({
    clientId: 'google-client',
    clientSecret: 'google-secret',
    redirectUris: [`${base}/oauth/callback`, `${base}/api/sora2/auth/callback`],
    user: { sub: 'g-777', email: 'ann@example.com' },
  });
  kit = await makeKit({
    env: { PORT: String(port), PUBLIC_URL: base, HOST: '127.0.0.1', GOOGLE_CLIENT_ID: 'google-client', GOOGLE_CLIENT_SECRET: 'google-secret', GOOGLE_ISSUER: issuer.issuer },
    extras: { port, oauth: { staticClients: () => [GPT] } },
    logger: makeLogger('info', logSink),
  });
  await kit.server.start();
  await kit.grant('google:g-777', 50_000);
});
afterAll(async () => {
  await kit.close();
  await issuer.close();
});

const gptConfig = () =>
  oidc.discovery(new URL(base), GPT.client_id, GPT.client_secret, oidc.ClientSecretPost(GPT.client_secret), { execute: [oidc.allowInsecureRequests] });

describe('OAuth 2.1 authorization server', () => {
  it('publishes RFC 8414 metadata with PKCE S256, registration and client metadata documents', async () => {
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata['issuer']).toBe(base);
    expect(metadata['authorization_endpoint']).toBe(`${base}/oauth/authorize`);
    expect(metadata['token_endpoint']).toBe(`${base}/oauth/token`);
    expect(metadata['registration_endpoint']).toBe(`${base}/oauth/register`);
    expect(metadata['code_challenge_methods_supported']).toEqual(['S256']);
    expect(metadata['client_id_metadata_document_supported']).toBe(true);
    expect(metadata['scopes_supported']).toEqual(expect.arrayContaining(['credits:read', 'llm:use', 'sora2:use']));
    const resource = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(resource['authorization_servers']).toEqual([base]);
  });

  it('signs a GPT user in with Google: code + PKCE, consent, a JWT for the REST API that the API accepts, and refresh', async () => {
    const config = await gptConfig();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: GPT_REDIRECT,
      scope: 'credits:read sora2:use',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const { url: back, visited } = await makeBrowser().browse(url.href, GPT_REDIRECT);
    expect(visited.some((v) => v.includes(issuer.issuer))).toBe(true); // went through Google
    const tokens = await oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state });
    secrets.push(back.searchParams.get('code') as string, verifier, tokens.access_token, tokens.refresh_token as string);
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ sub: 'google:g-777', aud: `${base}/api`, iss: base, client_id: 'gpt-test' });
    expect(String(claims['scope']).split(' ').sort()).toEqual(['credits:read', 'sora2:use']);

    const balance = await kit.inject({ method: 'GET', url: '/api/credits/google:g-777', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(balance.statusCode).toBe(200);
    expect(JSON.parse(balance.payload)).toMatchObject({ balance: 50_000 });

    expect(tokens.refresh_token).toBeDefined();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    secrets.push(refreshed.access_token, refreshed.refresh_token as string);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub: 'google:g-777', aud: `${base}/api` });
    // Rotation: the old refresh token is spent.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a flow without PKCE, and sends a denial back to the client', async () => {
    const config = await gptConfig();
    const noPkce = oidc.buildAuthorizationUrl(config, { redirect_uri: GPT_REDIRECT, scope: 'credits:read', state: 's1' });
    const { url: refused } = await makeBrowser().browse(noPkce.href, GPT_REDIRECT);
    expect(refused.searchParams.get('error')).toBe('invalid_request');

    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: GPT_REDIRECT, scope: 'credits:read', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's2' });
    const { url: denied } = await makeBrowser().browse(url.href, GPT_REDIRECT, 'deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
  });

  it('lets an MCP agent sign in through discovery and dynamic registration, with a token bound to /mcp, and spend credits', async () => {
    const redirectUrl = 'http://127.0.0.1:9/agent-callback';
    let info: OAuthClientInformationMixed | undefined;
    let saved: OAuthTokens | undefined;
    let verifier = '';
    let authorizationUrl: URL | undefined;
    const provider: OAuthClientProvider = {
      get redirectUrl() {
        return redirectUrl;
      },
      get clientMetadata(): OAuthClientMetadata {
        return { client_name: 'Test agent', redirect_uris: [redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
      },
      clientInformation: () => info,
      saveClientInformation: (i) => {
        info = i;
      },
      tokens: () => saved,
      saveTokens: (t) => {
        saved = t;
      },
      redirectToAuthorization: (url) => {
        authorizationUrl = url;
      },
      saveCodeVerifier: (v) => {
        verifier = v;
      },
      codeVerifier: () => verifier,
    };
    const first = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
    await expect(new Client({ name: 'agent', version: '1' }).connect(first)).rejects.toThrow(/Unauthorized/i);
    expect(info?.client_id).toBeDefined(); // registered itself
    if (authorizationUrl === undefined) throw new Error('the SDK did not start the authorization');
    expect(authorizationUrl.searchParams.get('resource')).toBe(`${base}/mcp`);
    const { url: back } = await makeBrowser().browse(authorizationUrl.href, redirectUrl);
    await first.finishAuth(back.searchParams.get('code') as string);
    expect(decodeJwt(saved?.access_token as string)).toMatchObject({ sub: 'google:g-777', aud: `${base}/mcp` });

    const agent = new Client({ name: 'agent', version: '1' });
    await agent.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider }));
    const balance = (await agent.callTool({ name: 'credits_balance', arguments: {} })) as { structuredContent?: Record<string, unknown> };
    expect(balance.structuredContent).toMatchObject({ userId: 'google:g-777' });
    const before = (balance.structuredContent as { balance: number }).balance;
    // And spends: a metered chat paid from the signed-in person's credits, charged once per idempotency key.
    const chat = (await agent.callTool({ name: 'chat', arguments: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], maxTokens: 20, idempotencyKey: 'agent-1' } })) as {
      isError?: boolean;
      structuredContent?: { credits?: { charged: number; balance: number } };
    };
    expect(chat.isError).toBeFalsy();
    const charged = chat.structuredContent?.credits?.charged ?? 0;
    expect(charged).toBeGreaterThan(0);
    expect((await kit.app.ledger.balance('google:g-777')).balance).toBe(before - charged);
    await agent.close();
    secrets.push(saved?.access_token as string, verifier);
  });

  it('logs one request line per OAuth and MCP request (hapi never sends these itself), with no code, token or secret in any line', async () => {
    const requestLines = () =>
      logged.join('').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request');
    // A line is written when its response has ended; the last MCP responses close as the agent disconnects.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !requestLines().some((l) => String(l['path']).startsWith('/mcp') && l['status'] === 200)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const requests = requestLines();
    const at = (prefix: string) => requests.filter((l) => String(l['path']).startsWith(prefix));
    // oidc-provider answers these through the catch-all route; before, none of them had a line.
    expect(at('/oauth/authorize').map((l) => l['status'])).toContain(303);
    expect(at('/oauth/token').map((l) => l['status'])).toEqual(expect.arrayContaining([200, 400]));
    expect(at('/oauth/register').map((l) => l['status'])).toContain(201);
    expect(at('/mcp').map((l) => l['status'])).toEqual(expect.arrayContaining([401, 200]));
    // MCP authenticates its caller itself; the line still names them.
    expect(at('/mcp').filter((l) => l['status'] === 200).map((l) => l['userId'])).toEqual(expect.arrayContaining(['google:g-777']));
    expect(at('/mcp').filter((l) => l['status'] === 401).every((l) => l['userId'] === undefined)).toBe(true);
    expect(requests.some((l) => String(l['path']).includes('code=[REDACTED]'))).toBe(true);
    const text = logged.join('');
    for (const secret of secrets.filter((x) => typeof x === 'string' && x.length >= 8)) expect(text).not.toContain(secret);
  });
});

describe('scopes and static clients', () => {
  it('limits an OAuth token to the routes its scopes name; a first-party token is unaffected', async () => {
    const scoped = await kit.token('google:g-777', { claims: { scope: 'credits:read' }, audience: `${base}/api` });
    const read = await kit.inject({ method: 'GET', url: '/api/credits/google:g-777', headers: { authorization: `Bearer ${scoped}` } });
    expect(read.statusCode).toBe(200);
    const deduct = await kit.inject({
      method: 'POST',
      url: '/api/credits/deduct',
      headers: { authorization: `Bearer ${scoped}`, 'idempotency-key': 'scope-1', 'content-type': 'application/json' },
      payload: { userId: 'google:g-777', credits: 5, service: 'sora2' },
    });
    expect(deduct.statusCode).toBe(403);
    expect(JSON.parse(deduct.payload)).toMatchObject({ type: '/problems/insufficient-scope', scope: 'credits:deduct' });
    expect(deduct.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="credits:deduct"');
    const grant = await kit.inject({
      method: 'POST',
      url: '/api/credits/google:g-777/grants',
      headers: { authorization: `Bearer ${scoped}`, 'content-type': 'application/json' },
      payload: { credits: 5 },
    });
    expect(grant.statusCode).toBe(403);
    const firstParty = await kit.inject({
      method: 'POST',
      url: '/api/credits/deduct',
      headers: { authorization: `Bearer ${await kit.token('google:g-777')}`, 'idempotency-key': 'scope-2', 'content-type': 'application/json' },
      payload: { userId: 'google:g-777', credits: 5, service: 'sora2' },
    });
    expect(firstParty.statusCode).toBe(200);
  });

  it('accepts a client named by its Client ID Metadata Document, and refuses a document that names someone else', async () => {
    const { createServer: createHttp } = await import('node:http');
    const docs = createHttp((req, res) => {
      const self = `http://127.0.0.1:${(docs.address() as { port: number }).port}${req.url}`;
      const body = req.url === '/agent.json' ? { client_id: self, client_name: 'Doc agent', redirect_uris: ['http://127.0.0.1:9/cb'] } : { client_id: 'https://elsewhere.example/x.json', redirect_uris: ['http://127.0.0.1:9/cb'] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    const port = (docs.address() as { port: number }).port;
    const authorize = (clientId: string) =>
      `${base}/oauth/authorize?${new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'credits:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'x' }).toString()}`;
    const { url } = await makeBrowser().browse(authorize(`http://127.0.0.1:${port}/agent.json`), 'http://127.0.0.1:9/cb');
    expect(url.searchParams.get('code')).not.toBeNull();
    const impostor = await fetch(authorize(`http://127.0.0.1:${port}/impostor.json`), { redirect: 'manual' });
    expect(impostor.status).toBe(400); // unknown client: shown to the user, never redirected
    docs.close();
  });
});

describe('GPT Actions with the OAuth token', () => {
  const gptToken = async (scope: string) => {
    const config = await gptConfig();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: GPT_REDIRECT, scope, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'gpt' });
    const { url: back } = await makeBrowser().browse(url.href, GPT_REDIRECT);
    return (await oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: 'gpt' })).access_token;
  };

  it('describes every GPT operation with the one OAuth scheme, its scope and whether it is consequential', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      servers: { url: string }[];
      components: { securitySchemes: Record<string, { type: string; flows?: { authorizationCode: { authorizationUrl: string; tokenUrl: string; scopes: Record<string, string> } } }> };
      paths: Record<string, Record<string, { operationId: string; security?: Record<string, string[]>[]; 'x-openai-isConsequential'?: boolean }>>;
    };
    expect(doc.servers[0]?.url).toBe(base);
    const oauth = doc.components.securitySchemes['oauth'];
    expect(oauth?.type).toBe('oauth2');
    expect(oauth?.flows?.authorizationCode).toMatchObject({ authorizationUrl: `${base}/oauth/authorize`, tokenUrl: `${base}/oauth/token` });
    const op = (path: string, method: string) => doc.paths[path]?.[method];
    expect(op('/api/credits/deduct', 'post')?.security).toContainEqual({ oauth: ['credits:deduct'] });
    expect(op('/api/credits/deduct', 'post')?.['x-openai-isConsequential']).toBe(true);
    expect(op('/api/credits/{userId}', 'get')?.security).toContainEqual({ oauth: ['credits:read'] });
    expect(op('/api/credits/{userId}', 'get')?.['x-openai-isConsequential']).toBe(false);
    for (const [path, method] of [['/api/sora2/generate', 'post'], ['/api/sora2/jobs/{id}', 'get'], ['/api/sora2/jobs', 'get']] as const) {
      expect(op(path, method)?.security).toContainEqual({ oauth: ['sora2:use'] });
    }
    // Admin-only operations are not offered to applications.
    expect(op('/api/credits/{userId}/grants', 'post')?.security?.some((s) => 'oauth' in s)).toBe(false);
    // OpenAI's published Action limits: summaries and descriptions at most 300 characters, parameter
    // descriptions at most 700, and the OAuth endpoints on the API's own origin.
    const operations = Object.values(doc.paths).flatMap((item) => Object.values(item)) as unknown as { summary?: string; description?: string; parameters?: { description?: string }[] }[];
    for (const o of operations) {
      expect((o.summary ?? '').length).toBeLessThanOrEqual(300);
      expect((o.description ?? '').length).toBeLessThanOrEqual(300);
      for (const p of o.parameters ?? []) expect((p.description ?? '').length).toBeLessThanOrEqual(700);
    }
    expect(new URL(oauth?.flows?.authorizationCode.authorizationUrl ?? '').origin).toBe(new URL(doc.servers[0]?.url ?? '').origin);
  });

  it('deducts with the key in the body, generates a video and hands back a signed link that works without a token', async () => {
    const token = await gptToken('credits:read credits:deduct sora2:use');
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const before = (await kit.app.ledger.balance('google:g-777')).balance;
    const deduct = () => fetch(`${base}/api/credits/deduct`, { method: 'POST', headers: auth, body: JSON.stringify({ credits: 7, service: 'sora2', idempotencyKey: 'gpt-deduct-1' }) });
    expect((await deduct()).status).toBe(200);
    const again = await deduct();
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await kit.app.ledger.balance('google:g-777')).balance).toBe(before - 7);

    const created = await fetch(`${base}/api/sora2/generate`, { method: 'POST', headers: auth, body: JSON.stringify({ prompt: 'A lighthouse at dawn', duration: 4, resolution: '720p', idempotencyKey: 'gpt-video-1' }) });
    expect(created.status).toBe(202);
    const { jobId } = (await created.json()) as { jobId: string };
    let job: { status: string; contentUrl?: string } = { status: 'queued' };
    for (let i = 0; i < 10 && job.status !== 'completed'; i++) {
      job = (await (await fetch(`${base}/api/sora2/jobs/${jobId}`, { headers: auth })).json()) as typeof job;
    }
    expect(job.status).toBe('completed');
    const link = new URL(job.contentUrl as string);
    expect(link.pathname).toBe(`/api/sora2/downloads/${jobId}`);
    const video = await fetch(link);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    expect((await video.arrayBuffer()).byteLength).toBeGreaterThan(0);

    const tampered = new URL(link);
    tampered.searchParams.set('user', 'someone-else');
    expect((await fetch(tampered)).status).toBe(403);
    const expired = new URL(link);
    expired.searchParams.set('expires', '1000');
    expect((await fetch(expired)).status).toBe(403);
  });
});
