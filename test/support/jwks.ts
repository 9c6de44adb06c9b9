import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';

/**
 * Signing keys and a local JWKS endpoint for tests: what an identity provider
 * (or Google) does, on 127.0.0.1, with knobs to rotate keys and to break the
 * endpoint on purpose.
 */
export type TestKey = {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  /** The public half as published in the key set. */
  readonly publicJwk: JWK;
  /** The public half as SPKI PEM (for the HS/RS confusion attack). */
  readonly publicPem: string;
};

let kids = 0;

export const makeTestKey = async (alg: 'RS256' | 'ES256', kid = `test-key-${++kids}`): Promise<TestKey> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
};

export type SignOptions = {
  /** Overrides of the protected header (e.g. another kid). */
  readonly header?: Readonly<Record<string, unknown>>;
};

/** Signs the claims exactly as given (no defaults added) with the key's algorithm and kid. */
export const signWith = (key: TestKey, claims: JWTPayload, options: SignOptions = {}): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header }).sign(key.privateKey);

/** HS256 over the claims with an arbitrary byte string as the secret. */
export const signHs256 = (secret: string, claims: JWTPayload, header: Readonly<Record<string, unknown>> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(new TextEncoder().encode(secret));

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsecured JWT (`alg: none`, empty signature), as an attacker would send it. */
export const unsecuredToken = (claims: JWTPayload) => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;

/** How the endpoint answers: the key set, an HTTP error, garbage, or never. */
export type JwksBehaviour = 'serve' | 'error500' | 'garbage' | 'hang';

export type JwksServer = {
  readonly url: string;
  /** Replaces the published keys (rotation). */
  readonly publish: (keys: readonly TestKey[]) => void;
  readonly behave: (behaviour: JwksBehaviour) => void;
  /** How many times the key set was requested. */
  readonly fetches: () => number;
  readonly close: () => Promise<void>;
};

export const startJwksServer = async (initial: readonly TestKey[]): Promise<JwksServer> => {
  let keys = initial;
  let behaviour: JwksBehaviour = 'serve';
  let count = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    count += 1;
    if (behaviour === 'hang') return; // Never answers; closed with the server.
    if (behaviour === 'error500') {
      res.writeHead(500).end('boom');
      return;
    }
    const body = behaviour === 'garbage' ? '{"keys": [nope' : JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    publish: (next) => {
      keys = next;
    },
    behave: (next) => {
      behaviour = next;
    },
    fetches: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
