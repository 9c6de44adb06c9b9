import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpServer } from '../../../adapters/http/server.js';
import { startHttpServer } from '../../../adapters/http/server.js';
import type { Kit } from '../ws/wsTestKit.js';
import { ask, startKit } from '../ws/wsTestKit.js';

/**
 * A gateway on a SQLite ledger (so the SQLite read model is the one used),
 * its REST server, and seeded traffic: WebSocket completions on both
 * providers (one stopped by the client, one failing upstream) and REST
 * deductions and a refund-free check, from three users.
 */
export type UsageKit = Kit & { readonly http: HttpServer; readonly admin: string; readonly close: () => Promise<void> };

export const startUsageKit = async (): Promise<UsageKit> => {
  const dir = mkdtempSync(join(tmpdir(), 'usage-e2e-'));
  const kit = await startKit({ env: { EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}` } });
  const http = await startHttpServer(kit.app, { port: 0, gatewayStats: kit.ws.stats });
  const promoted = await kit.app.access.change('analyst', { userId: 'operator', trusted: true }, { type: 'AssignRole', role: 'auditor' });
  if (promoted._tag === 'Left') throw new Error('could not assign the auditor role');
  return {
    ...kit,
    http,
    admin: await kit.token('analyst'),
    close: async () => {
      await http.stop();
      await kit.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

export const seedTraffic = async (kit: UsageKit): Promise<void> => {
  const users = ['ann', 'bob', 'cy'];
  for (const user of users) await kit.grant(user, 200_000);
  for (const [i, user] of users.entries()) {
    const socket = await kit.open(user);
    kit.openai.enqueue({ chunks: ['Hel', 'lo'], usage: { inputTokens: 20 + i, outputTokens: 5 + i } });
    socket.send(ask(`${user}-a`, { provider: 'openai', model: 'gpt-4o-mini' }));
    await socket.result(`${user}-a`);
    kit.claude.enqueue({ chunks: ['Hi', ' there', '!'], usage: { inputTokens: 40, outputTokens: 9 } });
    socket.send(ask(`${user}-b`, { provider: 'claude', model: 'claude-3-5-haiku-latest' }));
    await socket.result(`${user}-b`);
  }
  // A stream the client stops after some output: charged for what was produced, counted as stopped.
  const stopping = await kit.open('bob');
  kit.openai.enqueue({ chunks: ['one ', 'two ', 'three ', 'four ', 'five ', 'six ', 'seven ', 'eight '], chunkDelayMs: 40, usage: { inputTokens: 11, outputTokens: 8 } });
  stopping.send(ask('bob-stop', { provider: 'openai', model: 'gpt-4o-mini' }));
  await stopping.next((f) => f.id === 'bob-stop' && f.seq === 2);
  stopping.send({ id: 'bob-stop', type: 'cancel' });
  const stopped = await stopping.result('bob-stop');
  if (stopped.end['ended'] !== 'stopped') throw new Error(`the cancelled stream ended ${JSON.stringify(stopped.end)}`);
  // A provider failure before any output: the hold is released, the request counts as failed.
  const failing = await kit.open('cy');
  kit.openai.enqueue({ fault: { kind: 'status', status: 400, body: { error: { message: 'bad request', type: 'invalid_request_error' } } } });
  failing.send(ask('cy-fail', { provider: 'openai', model: 'gpt-4o-mini' }));
  await failing.result('cy-fail');
  // REST deductions (the Sora 2 style service) from two users.
  for (const [i, user] of ['ann', 'bob'].entries()) {
    const response = await fetch(`${kit.http.url}/api/credits/deduct`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await kit.token(user)}`, 'Content-Type': 'application/json', 'Idempotency-Key': `seed-${user}` },
      body: JSON.stringify({ credits: 300 + i, service: 'sora2' }),
    });
    if (response.status !== 200) throw new Error(`deduct failed: ${response.status} ${await response.text()}`);
  }
};

/** Sums of the settle, expiry and deduct events in the store: what usage and metrics must agree with. */
export const ledgerSums = async (kit: Kit) => {
  let charged = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let head = -1;
  for await (const e of kit.app.store.readAll()) {
    head = e.position;
    if (e.type === 'ReservationSettled') {
      const usage = e.data['usage'] as { inputTokens?: number; outputTokens?: number };
      charged += e.data['charged'] as number;
      inputTokens += usage.inputTokens ?? 0;
      outputTokens += usage.outputTokens ?? 0;
    }
    if (e.type === 'ReservationExpired') charged += (e.data['charged'] as number | undefined) ?? 0;
    if (e.type === 'CreditsDeducted') charged += e.data['amount'] as number;
  }
  return { charged, inputTokens, outputTokens, head };
};

/** Waits until the projection has committed `head`. */
export const caughtUp = async (kit: Kit, head: number): Promise<void> => {
  for (let i = 0; i < 500; i++) {
    if (kit.app.usage.runner.status().position >= head) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`projection stuck at ${kit.app.usage.runner.status().position}, head ${head}`);
};
