import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import * as E from 'fp-ts/lib/Either.js';
import { mintDevToken } from '../../../adapters/auth/jwtMint.js';
import { makeLogger } from '../../../adapters/logging.js';
import type { Service } from '../../../adapters/main.js';
import { startService } from '../../../adapters/main.js';
import { connectGateway } from '../../../adapters/ws/client.js';
import { auditLedger } from '../../../application/audit.js';
import { startAnthropicFixture } from '../../support/anthropicFixture.js';
import type { SseFixture } from '../../support/openaiFixture.js';
import { startOpenAiFixture } from '../../support/openaiFixture.js';
import { SECRET, TEST_RESILIENCE } from './wsTestKit.js';

/** The whole service as main.ts starts it: the gateway's stats reach GET /stats, and stop() settles running streams. */
describe('WebSocket gateway inside the started service', () => {
  let service: Service;
  let openai: SseFixture;
  let claude: SseFixture;
  beforeAll(async () => {
    [openai, claude] = await Promise.all([startOpenAiFixture(), startAnthropicFixture()]);
    const env = {
      EVENT_STORE: 'memory:',
      PORT: '0',
      WS_PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: SECRET,
      OPENAI_API_KEY: 'test',
      OPENAI_BASE_URL: openai.baseURL,
      ANTHROPIC_API_KEY: 'test',
      ANTHROPIC_BASE_URL: claude.baseURL,
      WS_SHUTDOWN_GRACE_MS: '0',
    };
    const quiet = new Writable({ write: (_c, _e, done) => done() });
    service = await startService(env, { logger: makeLogger('info', quiet), overrides: { llmResilience: { resilience: TEST_RESILIENCE } } });
  });
  afterAll(async () => {
    await service.stop();
    await Promise.all([openai.close(), claude.close()]);
  });

  it('serves a paid stream, shows the socket in GET /stats, and stop() settles what still runs', async () => {
    const granted = await service.app.ledger.grant({ accountId: 'svc-user', grantId: 'svc-grant', amount: 100_000 });
    expect(E.isRight(granted)).toBe(true);
    openai.setDefault({ chunks: Array.from({ length: 30 }, (_, i) => `w${i} `), chunkDelayMs: 30 });
    const client = await connectGateway({ url: service.ws.url, token: await mintDevToken(SECRET, 'svc-user'), reconnect: false });
    const answer = client.complete({ id: 'svc-1', provider: 'openai', model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count' }] });
    const iterator = answer[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ seq: 1 });

    const stats = (await (await fetch(`${service.http.url}/stats`)).json()) as { gateway: { connections: number; inFlight: number; providers: unknown[] } };
    expect(stats.gateway.connections).toBe(1);
    expect(stats.gateway.inFlight).toBe(1);
    expect(stats.gateway.providers).toHaveLength(2);

    const [done] = await Promise.all([answer.done, service.stop()]);
    expect(done.ended).toBe('stopped');
    const report = await auditLedger(service.app.store);
    expect(report.violations).toEqual([]);
    expect(report.accounts.find((a) => a.accountId === 'svc-user')).toMatchObject({ held: 0, balance: 100_000 - done.credits.charged });
    await client.close();
  });
});
