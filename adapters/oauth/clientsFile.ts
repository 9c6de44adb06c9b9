import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { StaticClient } from './clientRegistry.js';

/**
 * The static OAuth clients (one per GPT, typically) live in a JSON file the
 * operator treats as a secret (mode 0600), not in the ledger: a client secret
 * must be compared in clear by the authorization server, and an append-only
 * history is the wrong home for a secret. The server re-reads the file when
 * its modification time changes, so `ledger oauth-clients add` takes effect
 * without a restart.
 */
const ClientCodec = t.intersection([
  t.type({ client_id: t.string, client_secret: t.string, client_name: t.string, redirect_uris: t.array(t.string) }),
  t.partial({ token_endpoint_auth_method: t.keyof({ client_secret_post: null, client_secret_basic: null }) }),
]);
const FileCodec = t.type({ clients: t.array(ClientCodec) });

export const readClientsFile = (path: string): StaticClient[] => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const decoded = FileCodec.decode(JSON.parse(text));
  if (E.isLeft(decoded)) throw new Error(`${path} is not a valid OAuth clients file`);
  return decoded.right.clients;
};

/** A reader that re-parses only when the file changed. */
export const watchClientsFile = (path: string): (() => readonly StaticClient[]) => {
  let seen = -1;
  let clients: readonly StaticClient[] = [];
  return () => {
    let mtime: number;
    try {
      mtime = statSync(path).mtimeMs;
    } catch {
      return [];
    }
    if (mtime !== seen) {
      clients = readClientsFile(path);
      seen = mtime;
    }
    return clients;
  };
};

const writeClients = (path: string, clients: readonly StaticClient[]) => {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ clients }, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
};

export const addClient = (path: string, input: { name: string; redirectUris: readonly string[] }): StaticClient => {
  for (const uri of input.redirectUris) {
    const url = new URL(uri);
    if (url.protocol !== 'https:' && url.hostname !== 'localhost' && url.hostname !== '127.0.0.1') throw new Error(`redirect URI must be https: ${uri}`);
  }
  const client: StaticClient = {
    client_id: `gpt-${randomBytes(8).toString('hex')}`,
    client_secret: randomBytes(32).toString('base64url'),
    client_name: input.name,
    redirect_uris: [...input.redirectUris],
    token_endpoint_auth_method: 'client_secret_post',
  };
  writeClients(path, [...readClientsFile(path), client]);
  return client;
};

export const removeClient = (path: string, clientId: string): boolean => {
  const clients = readClientsFile(path);
  const kept = clients.filter((c) => c.client_id !== clientId);
  if (kept.length === clients.length) return false;
  writeClients(path, kept);
  return true;
};
