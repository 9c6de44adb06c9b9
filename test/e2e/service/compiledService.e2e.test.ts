import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ClientModuleNs from '../../../adapters/ws/client.js';
import { repoRootDir, startCompiledService } from '../../support/compiledService.js';

type ClientModule = typeof ClientModuleNs;

/**
 * The README's path, on the compiled code: `npm start` (node dist/adapters/main.js)
 * on the embedded defaults, the `ledger` binary beside it on the same SQLite
 * file, a stream through the bundled client, and a clean SIGTERM.
 * `npm ci` builds dist/ (the prepare script); run `npm run build` after changes.
 */
const root = repoRootDir;

describe('compiled service (npm start)', () => {
  let dir: string;
  let child: ChildProcess;
  let rest = '';
  let websocket = '';
  let output = () => '';
  const env = () => ({ ...process.env, EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}`, JWT_SECRET: 's'.repeat(40), PORT: '0', WS_PORT: '0', HOST: '127.0.0.1', SCRIPTED_CHUNK_DELAY_MS: '1' });
  const ledger = (args: string[]) => {
    const r = spawnSync(process.execPath, [join(root, 'bin/ledger.js'), ...args, '--json'], { env: env(), encoding: 'utf8' });
    return { code: r.status, body: JSON.parse(r.stdout.trim() || '{}') as Record<string, unknown> };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'compiled-'));
    ({ child, rest, websocket, output } = await startCompiledService(env()));
  }, 70_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves health, streams a paid completion, agrees with the CLI, and stops cleanly on SIGTERM', async () => {
    const health = (await (await fetch(`${rest}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
    expect(ledger(['grant', 'readme-user', '50000', '--id', 'welcome']).code).toBe(0);
    const token = ledger(['token', 'readme-user']).body['token'] as string;
    const { connectGateway } = (await import(pathToFileURL(join(root, 'dist/adapters/ws/client.js')).href)) as ClientModule;
    const gateway = await connectGateway({ url: websocket, token });
    const answer = gateway.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say something about ledgers.' }], maxTokens: 50 });
    let text = '';
    for await (const chunk of answer) text += chunk.data;
    const done = await answer.done;
    await gateway.close();
    expect(text.length).toBeGreaterThan(0);
    expect(done.credits.charged).toBeGreaterThan(0);
    expect(ledger(['balance', 'readme-user']).body).toMatchObject({ balance: done.credits.balance, held: 0 });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(ledger(['audit']).body).toMatchObject({ ok: true, violations: [] });
    expect(output()).not.toContain(token);
  }, 60_000);
});
