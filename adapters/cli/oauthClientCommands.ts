import { addClient, readClientsFile, removeClient } from '../oauth/clientsFile.js';
import type { Io, Parsed } from './args.js';
import { positional, required, UsageError } from './args.js';

/**
 * `ledger oauth-clients add|list|remove`: the authorization server's static
 * clients, one per GPT whose Action signs users in with OAuth. They live in
 * OAUTH_CLIENTS_FILE (default data/oauth-clients.json, mode 0600), which the
 * running server re-reads when it changes. The store is not opened.
 */
export const runOAuthClients = (p: Parsed, io: Io, json: boolean): number => {
  const path = io.env['OAUTH_CLIENTS_FILE'] || 'data/oauth-clients.json';
  const action = positional(p, 0, 'add|list|remove');
  switch (action) {
    case 'add': {
      const name = positional(p, 1, 'name');
      const redirectUris = required(p.flags['redirect-uri'], 'redirect-uri').split(',').map((u) => u.trim()).filter((u) => u.length > 0);
      let client;
      try {
        client = addClient(path, { name, redirectUris });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (json) io.out(JSON.stringify({ ok: true, file: path, clientId: client.client_id, clientSecret: client.client_secret, name, redirectUris }));
      else {
        io.out(`client id      ${client.client_id}`);
        io.out(`client secret  ${client.client_secret}`);
        io.out(`token auth     client_secret_post (in the GPT builder: "Default (POST request)")`);
        io.out(`kept in ${path} (mode 0600); the running server picks it up without a restart`);
      }
      return 0;
    }
    case 'list': {
      const clients = readClientsFile(path).map((c) => ({ clientId: c.client_id, name: c.client_name, redirectUris: c.redirect_uris }));
      if (json) io.out(JSON.stringify({ ok: true, clients }));
      else for (const c of clients) io.out(`${c.clientId}\t${c.name}\t${c.redirectUris.join(',')}`);
      return 0;
    }
    case 'remove': {
      const clientId = positional(p, 1, 'clientId');
      const removed = removeClient(path, clientId);
      if (json) io.out(JSON.stringify({ ok: removed, clientId }));
      else if (removed) io.out(`removed ${clientId}`);
      else io.err(`refused: no client ${clientId}`);
      return removed ? 0 : 1;
    }
    default:
      throw new UsageError(`oauth-clients: unknown action "${action}" (add, list or remove)`);
  }
};
