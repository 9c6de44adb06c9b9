/**
 * Where a bearer token travels in a request, and how to keep it out of logs.
 * Pure functions: the WebSocket upgrade and the REST auth scheme both use them.
 */

/** Node's IncomingHttpHeaders and hapi's request.headers both fit. */
export type RequestHeaders = Readonly<Record<string, unknown>>;

const bearer = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

const header = (headers: RequestHeaders, name: string): string | undefined => {
  // Node and hapi lower-case header names; a hand-built record may not.
  const value = headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  if (typeof value === 'string') return value;
  const first: unknown = Array.isArray(value) ? value[0] : undefined;
  return typeof first === 'string' ? first : undefined;
};

/** The part of a URL after '?' and before '#', for absolute and origin-relative forms. */
const queryOf = (url: string): string => {
  const withoutFragment = url.split('#', 1)[0] ?? '';
  const at = withoutFragment.indexOf('?');
  return at < 0 ? '' : withoutFragment.slice(at + 1);
};

/**
 * The token from `Authorization: Bearer <token>`, else from the `token` query
 * parameter (browsers cannot set headers on a WebSocket), else undefined. A
 * header with another scheme (Basic...) does not count as a token.
 */
export const extractToken = (headers: RequestHeaders, url: string | URL | undefined): string | undefined => {
  const authorization = header(headers, 'authorization');
  const match = authorization === undefined ? null : bearer.exec(authorization);
  if (match?.[1] !== undefined) return match[1];
  if (url === undefined) return undefined;
  const fromQuery = new URLSearchParams(typeof url === 'string' ? queryOf(url) : url.search).get('token');
  return fromQuery === null || fromQuery.length === 0 ? undefined : fromQuery;
};

/**
 * Query parameters whose values are secrets: the bearer token, OAuth tokens,
 * one-time codes (a Sora 2 verification code or an OAuth code is as good as a
 * password until it has been used), and what an OAuth client should send in
 * a body but a careless one may put in the URL of a request the log records
 * (refresh token, client secret, PKCE verifier, API key).
 */
export const secretParams: readonly string[] = ['token', 'access_token', 'id_token', 'code', 'refresh_token', 'client_secret', 'code_verifier', 'api_key', 'key'];

const decodedName = (raw: string): string => {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
};

const redactParams = (params: string, names: ReadonlySet<string>): string =>
  params
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part;
      const name = part.slice(0, eq);
      // Compare decoded names: `tok%65n=...` is read as `token` by URLSearchParams, so it is redacted too.
      return names.has(decodedName(name)) ? `${name}=[REDACTED]` : part;
    })
    .join('&');

/**
 * The URL with the value of every secret parameter replaced by [REDACTED],
 * in the query and in the fragment; everything else is left byte for byte.
 */
export const redactUrl = (url: string, names: readonly string[] = secretParams): string => {
  const set = new Set(names.map((n) => n.toLowerCase()));
  const hashAt = url.indexOf('#');
  const beforeFragment = hashAt < 0 ? url : url.slice(0, hashAt);
  const fragment = hashAt < 0 ? undefined : url.slice(hashAt + 1);
  const queryAt = beforeFragment.indexOf('?');
  const head =
    queryAt < 0
      ? beforeFragment
      : `${beforeFragment.slice(0, queryAt)}?${redactParams(beforeFragment.slice(queryAt + 1), set)}`;
  return fragment === undefined ? head : `${head}#${redactParams(fragment, set)}`;
};
