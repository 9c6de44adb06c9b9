import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * Where the authorization server finds a client, in this order:
 * 1. Static clients (GPT builders), added with `ledger oauth-clients add` to a
 *    file the operator keeps like any other secret; re-read when it changes.
 * 2. Client ID Metadata Documents: a client id that is an https URL names
 *    the client's own metadata document, fetched (bounded in time and size),
 *    checked to name itself, and cached for a few minutes. Such clients are
 *    public (PKCE, no secret).
 * 3. Clients registered dynamically (RFC 7591), kept by the storage adapter.
 */
export type StaticClient = {
  readonly client_id: string;
  readonly client_secret: string;
  readonly client_name: string;
  readonly redirect_uris: readonly string[];
  readonly token_endpoint_auth_method?: 'client_secret_post' | 'client_secret_basic';
};

const MAX_DOCUMENT_BYTES = 64 * 1024;
const FETCH_TIMEOUT_MS = 3000;
const CACHE_MS = 5 * 60 * 1000;

const privateHost = (hostname: string) =>
  hostname === 'localhost' ||
  hostname.endsWith('.localhost') ||
  /^(127\.|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.|0\.)/.test(hostname) ||
  hostname.startsWith('[');

/** Is this client id a metadata document URL we may fetch? */
export const metadataDocumentUrl = (clientId: string, allowLoopbackHttp: boolean): URL | undefined => {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return undefined;
  }
  if (url.pathname === '/' || url.hash !== '' || url.username !== '' || url.password !== '') return undefined;
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (url.protocol === 'https:' && !privateHost(url.hostname)) return url;
  if (allowLoopbackHttp && loopback) return url;
  return undefined;
};

const fetchDocument = async (url: URL): Promise<AdapterPayload | undefined> => {
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
  if (!response.ok || response.body === null) return undefined;
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      await reader.cancel();
      return undefined;
    }
    parts.push(value);
  }
  const parsed = JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as AdapterPayload) : undefined;
};

export const makeClientRegistry = (options: { readonly staticClients: () => readonly StaticClient[]; readonly allowLoopbackHttp: boolean }) => {
  const documents = new Map<string, { payload: AdapterPayload | undefined; fetchedAt: number }>();

  const fromDocument = async (clientId: string): Promise<AdapterPayload | undefined> => {
    const url = metadataDocumentUrl(clientId, options.allowLoopbackHttp);
    if (url === undefined) return undefined;
    const cached = documents.get(clientId);
    if (cached !== undefined && Date.now() - cached.fetchedAt < CACHE_MS) return cached.payload;
    let payload: AdapterPayload | undefined;
    try {
      const doc = await fetchDocument(url);
      // The document must name itself; anything else is someone else's metadata.
      payload =
        doc !== undefined && doc['client_id'] === clientId && Array.isArray(doc['redirect_uris'])
          ? { ...doc, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }
          : undefined;
    } catch {
      payload = undefined;
    }
    if (documents.size > 1000) documents.clear();
    documents.set(clientId, { payload, fetchedAt: Date.now() });
    return payload;
  };

  return {
    adapter: (stored: Adapter): Adapter => ({
      ...stored,
      find: async (id) => {
        const known = options.staticClients().find((c) => c.client_id === id);
        if (known !== undefined) {
          return {
            ...known,
            redirect_uris: [...known.redirect_uris],
            token_endpoint_auth_method: known.token_endpoint_auth_method ?? 'client_secret_post',
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
          };
        }
        return (await fromDocument(id)) ?? stored.find(id);
      },
    }),
  };
};
