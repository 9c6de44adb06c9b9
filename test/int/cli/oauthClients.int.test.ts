import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../adapters/cli/main.js';
import { watchClientsFile } from '../../../adapters/oauth/clientsFile.js';

const run = async (argv: string[], env: Record<string, string>) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false, env });
  return { code, out, err };
};

describe('ledger oauth-clients', () => {
  it('adds a client with a secret to a 0600 file the server re-reads, lists it without the secret, and removes it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'oauth-clients-')), 'clients.json');
    const env = { OAUTH_CLIENTS_FILE: file, EVENT_STORE: 'sqlite:/nonexistent/never-opened.db' };
    const seen = watchClientsFile(file);
    expect(seen()).toEqual([]);
    const added = await run(['oauth-clients', 'add', 'Video GPT', '--redirect-uri', 'https://chat.openai.com/aip/g-1/oauth/callback', '--json'], env);
    expect(added.code).toBe(0);
    const body = JSON.parse(added.out[0] as string) as { clientId: string; clientSecret: string };
    expect(body.clientId).toMatch(/^gpt-[0-9a-f]{16}$/);
    expect(body.clientSecret.length).toBeGreaterThanOrEqual(40);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(seen().map((c) => c.client_id)).toEqual([body.clientId]);

    const listed = await run(['oauth-clients', 'list'], env);
    expect(listed.out.join('\n')).toContain(body.clientId);
    expect(listed.out.join('\n')).not.toContain(body.clientSecret);

    expect((await run(['oauth-clients', 'add', 'Bad', '--redirect-uri', 'http://evil.example/cb'], env)).code).toBe(2);
    expect((await run(['oauth-clients', 'remove', body.clientId], env)).code).toBe(0);
    expect((await run(['oauth-clients', 'remove', body.clientId], env)).code).toBe(1);
  });
});
