import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CryptoKey, JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/**
 * A small, strict OpenID Connect issuer for tests, signing with jose: discovery,
 * JWKS, /authorize (redirects straight back with a code for the configured
 * user, as if they had signed in) and /token. It checks what a real provider
 * checks: registered client and redirect URI, response type, PKCE S256 (the
 * verifier must hash to the challenge), single-use codes bound to their client
 * and redirect URI, and client credentials (basic or post).
 * Knobs tamper with the next ID token (rogue key, audience, nonce, expiry...).
 */
export type IssuerUser = { readonly sub: string; readonly email?: string; readonly emailVerified?: boolean };

export type IdTokenTamper = {
  /** Sign with a key the issuer does not publish (same kid). */
  readonly rogueKey?: boolean;
  readonly audience?: string;
  readonly nonce?: string;
  readonly issuer?: string;
  /** Seconds from now; negative gives a token that has already expired. */
  readonly expiresInS?: number;
};

export type AuthorizeRecord = Readonly<Record<string, string>>;
export type TokenRecord = { readonly params: Readonly<Record<string, string>>; readonly status: number; readonly error?: string };

export type OidcIssuer = {
  readonly issuer: string;
  readonly setUser: (user: IssuerUser) => void;
  /** Applies to the next ID token only. */
  readonly tamperNext: (tamper: IdTokenTamper) => void;
  /** The next /authorize answers with `error=<error>` instead of a code. */
  readonly denyNext: (error: string) => void;
  readonly authorizeRequests: () => readonly AuthorizeRecord[];
  readonly tokenRequests: () => readonly TokenRecord[];
  readonly close: () => Promise<void>;
};

export type OidcIssuerOptions = {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly user: IssuerUser;
  /** The issuer's clock (ms); give it the app's test clock so iat/exp line up. */
  readonly now?: () => number;
};

type PendingCode = { clientId: string; redirectUri: string; challenge: string; nonce: string; user: IssuerUser; expiresAt: number };

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

/** Client authentication: HTTP Basic (client_secret_basic) or form fields (client_secret_post). */
const clientOf = (req: IncomingMessage, params: URLSearchParams) => {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (basic?.[1] !== undefined) {
    const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':').map(decodeURIComponent);
    return { id, secret };
  }
  return { id: params.get('client_id') ?? undefined, secret: params.get('client_secret') ?? undefined };
};

/** RSA key generation takes a few hundred ms; one pair (and one rogue pair) per test process is enough. */
let keyPairs: Promise<[Awaited<ReturnType<typeof generateKeyPair>>, Awaited<ReturnType<typeof generateKeyPair>>]> | undefined;

export const startOidcIssuer = async (options: OidcIssuerOptions): Promise<OidcIssuer> => {
  const now = options.now ?? Date.now;
  keyPairs ??= Promise.all([generateKeyPair('RS256', { extractable: true }), generateKeyPair('RS256', { extractable: true })]);
  const [{ privateKey, publicKey }, rogue] = await keyPairs;
  const kid = 'issuer-key-1';
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, PendingCode>();
  const authorizeLog: AuthorizeRecord[] = [];
  const tokenLog: TokenRecord[] = [];
  let user = options.user;
  let tamper: IdTokenTamper | undefined;
  let deny: string | undefined;
  let issuer = '';

  const signIdToken = (pending: PendingCode): Promise<string> => {
    const t = tamper ?? {};
    tamper = undefined;
    const iat = Math.floor(now() / 1000);
    const claims = {
      nonce: t.nonce ?? pending.nonce,
      azp: pending.clientId,
      ...(pending.user.email === undefined ? {} : { email: pending.user.email, email_verified: pending.user.emailVerified ?? true }),
    };
    const key: CryptoKey = t.rogueKey === true ? rogue.privateKey : privateKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(t.issuer ?? issuer)
      .setAudience(t.audience ?? pending.clientId)
      .setSubject(pending.user.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (t.expiresInS ?? 3600))
      .sign(key);
  };

  const authorize = (url: URL, res: ServerResponse) => {
    const q = Object.fromEntries(url.searchParams.entries());
    authorizeLog.push(q);
    // A bad client or redirect URI is shown to the user, never redirected to (RFC 6749 4.1.2.1).
    if (q['client_id'] !== options.clientId) return sendJson(res, 400, { error: 'invalid_client' });
    const redirectUri = q['redirect_uri'] ?? '';
    if (!options.redirectUris.includes(redirectUri)) return sendJson(res, 400, { error: 'invalid_request', error_description: 'redirect_uri not registered' });
    const back = new URL(redirectUri);
    back.searchParams.set('state', q['state'] ?? '');
    back.searchParams.set('iss', issuer);
    const problem =
      q['response_type'] !== 'code' ? 'unsupported_response_type'
      : !(q['scope'] ?? '').split(' ').includes('openid') ? 'invalid_scope'
      : q['code_challenge_method'] !== 'S256' || (q['code_challenge'] ?? '').length < 43 ? 'invalid_request'
      : (q['nonce'] ?? '') === '' || (q['state'] ?? '') === '' ? 'invalid_request'
      : deny;
    deny = undefined;
    if (problem !== undefined) back.searchParams.set('error', problem);
    else {
      const code = randomBytes(24).toString('base64url');
      codes.set(code, { clientId: options.clientId, redirectUri, challenge: q['code_challenge'] ?? '', nonce: q['nonce'] ?? '', user, expiresAt: now() + 60_000 });
      back.searchParams.set('code', code);
      // What Google adds too: the callback must tolerate parameters it does not use.
      back.searchParams.set('scope', 'openid email');
      back.searchParams.set('authuser', '0');
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const params = new URLSearchParams(await readBody(req));
    const record = (status: number, error?: string) => tokenLog.push({ params: Object.fromEntries(params.entries()), status, ...(error === undefined ? {} : { error }) });
    const refuse = (status: number, error: string, description: string) => {
      record(status, error);
      sendJson(res, status, { error, error_description: description });
    };
    const client = clientOf(req, params);
    if (client.id !== options.clientId || client.secret !== options.clientSecret) return refuse(401, 'invalid_client', 'client authentication failed');
    if (params.get('grant_type') !== 'authorization_code') return refuse(400, 'unsupported_grant_type', 'only authorization_code');
    const code = params.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (pending === undefined || pending.expiresAt <= now()) return refuse(400, 'invalid_grant', 'unknown, used or expired code');
    if (pending.redirectUri !== params.get('redirect_uri')) return refuse(400, 'invalid_grant', 'redirect_uri mismatch');
    const verifier = params.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
    if (verifier.length < 43 || challenge !== pending.challenge) return refuse(400, 'invalid_grant', 'PKCE verification failed');
    record(200);
    sendJson(res, 200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 3600, scope: 'openid email', id_token: await signIdToken(pending) });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return sendJson(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return sendJson(res, 200, { keys: [jwk] });
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/token') return void token(req, res).catch(() => sendJson(res, 500, { error: 'server_error' }));
    return sendJson(res, 404, { error: 'not_found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    setUser: (next) => {
      user = next;
    },
    tamperNext: (next) => {
      tamper = next;
    },
    denyNext: (error) => {
      deny = error;
    },
    authorizeRequests: () => [...authorizeLog],
    tokenRequests: () => [...tokenLog],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
