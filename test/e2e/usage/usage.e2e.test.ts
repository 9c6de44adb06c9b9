import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { UsageKit } from './usageKit.js';
import { caughtUp, ledgerSums, seedTraffic, startUsageKit } from './usageKit.js';
import { ask } from '../ws/wsTestKit.js';

/**
 * After real traffic over WebSocket and REST, /api/usage and the metrics
 * agree with the ledger's own settle and deduct events.
 */
let kit: UsageKit;
let sums: Awaited<ReturnType<typeof ledgerSums>>;

beforeAll(async () => {
  kit = await startUsageKit();
  await seedTraffic(kit);
  sums = await ledgerSums(kit);
  await caughtUp(kit, sums.head);
});
afterAll(() => kit.close());

const get = async (path: string, token: string, accept = 'application/json') => {
  const response = await fetch(`${kit.http.url}${path}`, { headers: { Authorization: `Bearer ${token}`, Accept: accept } });
  return { status: response.status, headers: response.headers, text: await response.text() };
};

const metricSum = (text: string, name: string, filter = ''): number =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(filter))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

describe('usage analytics after WebSocket and REST traffic', () => {
  it('/api/usage totals equal the sums of the settle and deduct events, and say the position they reflect', async () => {
    expect(sums.charged).toBeGreaterThan(0);
    const answer = await get('/api/usage?groupBy=service&from=2020-01-01&to=2029-12-31', kit.admin);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as {
      position: number;
      rows: { service: string; creditsCharged: number; inputTokens: number; outputTokens: number; requests: number; completed: number; stopped: number; failed: number }[];
      total: number;
    };
    expect(body.position).toBe(sums.head);
    expect(answer.headers.get('x-projection-position')).toBe(String(sums.head));
    const total = (k: 'creditsCharged' | 'inputTokens' | 'outputTokens' | 'requests' | 'completed' | 'stopped' | 'failed') => body.rows.reduce((s, r) => s + r[k], 0);
    expect(total('creditsCharged')).toBe(sums.charged);
    expect(total('inputTokens')).toBe(sums.inputTokens);
    expect(total('outputTokens')).toBe(sums.outputTokens);
    // 6 completions, 1 stream stopped by its client and 1 failed hold over WebSocket, 2 REST deductions.
    expect(total('requests')).toBe(10);
    expect(total('completed')).toBe(8);
    expect(total('stopped')).toBe(1);
    expect(total('failed')).toBe(1);
    expect(body.rows.map((r) => r.service).sort()).toEqual(['llm', 'sora2']);
  });

  it('groups by model and account, pages with next links, and answers CSV', async () => {
    const page1 = JSON.parse((await get('/api/usage?groupBy=account&limit=2', kit.admin)).text) as { rows: { accountId: string }[]; total: number; next?: string };
    expect(page1.total).toBe(3);
    expect(page1.rows.map((r) => r.accountId)).toEqual(['ann', 'bob']);
    expect(page1.next).toBeDefined();
    const page2 = JSON.parse((await get(page1.next as string, kit.admin)).text) as { rows: { accountId: string }[]; next?: string };
    expect(page2.rows.map((r) => r.accountId)).toEqual(['cy']);
    expect(page2.next).toBeUndefined();
    const csv = await get('/api/usage?groupBy=model,provider', kit.admin, 'text/csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('model,provider,requests,completed,stopped,failed,inputTokens,outputTokens,videoSeconds,creditsHeld,creditsCharged,creditsRefunded');
    const charged = lines.slice(1).reduce((s, line) => s + Number(line.split(',')[10]), 0);
    expect(charged).toBe(sums.charged);
    expect(lines.some((l) => l.startsWith('claude-3-5-haiku-latest,claude,3,3,'))).toBe(true);
  });

  it('/api/usage is for admins and auditors; /api/usage/me shows only the caller', async () => {
    const refused = await get('/api/usage', await kit.token('ann'));
    expect(refused.status).toBe(403);
    const mine = JSON.parse((await get('/api/usage/me?groupBy=account,service', await kit.token('ann'))).text) as { rows: { accountId: string; service: string; creditsCharged: number }[] };
    expect(mine.rows.map((r) => `${r.accountId}/${r.service}`)).toEqual(['ann/llm', 'ann/sora2']);
    expect(mine.rows.find((r) => r.service === 'sora2')?.creditsCharged).toBe(300);
    expect((await get('/api/usage?groupBy=nope', kit.admin)).status).toBe(400);
    expect((await get('/api/usage?from=2026-02-30', kit.admin)).status).toBe(400);
    expect((await get('/api/usage?from=2026-03-02&to=2026-03-01', kit.admin)).status).toBe(400);
  });

  it('the metrics counters equal the ledger sums (WebSocket and REST alike), with holds, streams and connections', async () => {
    const text = (await get('/metrics', kit.admin)).text;
    expect(metricSum(text, 'credits_charged_total')).toBe(sums.charged);
    expect(metricSum(text, 'ledger_tokens_total', 'direction="input"')).toBe(sums.inputTokens);
    expect(metricSum(text, 'ledger_tokens_total', 'direction="output"')).toBe(sums.outputTokens);
    expect(metricSum(text, 'ledger_completions_total', 'outcome="completed"')).toBe(8);
    expect(metricSum(text, 'ledger_completions_total', 'outcome="failed"')).toBe(1);
    expect(metricSum(text, 'ledger_completions_total', 'outcome="stopped"')).toBe(1);
    expect(text).toMatch(/ledger_completions_total\{service="llm",provider="claude",model="claude-3-5-haiku-latest",outcome="completed"\} 3/);
    expect(text).toMatch(/^ledger_holds_open 0$/m);
    expect(text).toMatch(/^ledger_held_credits 0$/m);
    expect(text).toMatch(/^ws_connections [1-9]/m);
    expect(text).toMatch(/^ws_streams_in_flight 0$/m);
    expect(text).toMatch(/ws_time_to_first_chunk_seconds_count\{provider="claude"\} 3/);
    expect(text).toMatch(/llm_provider_errors_total\{provider="openai",error="[A-Za-z]+"\} 1/);
    expect(text).toMatch(/event_store_append_duration_seconds_count\{store="sqlite",result="ok"\} \d+/);
    expect(text).toMatch(/projection_lag_events\{projection="usage"\} 0/);
    expect(text).toMatch(/ledger_build_info\{version="[^"]+",node="v\d+/);
  });

  it('carries a W3C traceparent from a WebSocket frame to the provider call, and REST log lines carry the caller\'s trace id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const socket = await kit.open('ann');
    kit.openai.enqueue({ chunks: ['ok'] });
    socket.send(ask('traced', { provider: 'openai', model: 'gpt-4o-mini', traceparent: `00-${traceId}-00f067aa0ba902b7-01` }));
    await socket.result('traced');
    const sent = kit.openai.requests[kit.openai.requests.length - 1];
    expect(String(sent?.headers['traceparent'])).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(kit.logs.some((line) => line.includes(traceId) && line.includes('llm request'))).toBe(true);

    const restTrace = '0af7651916cd43dd8448eb211c80319c';
    await fetch(`${kit.http.url}/api/usage/me`, { headers: { Authorization: `Bearer ${await kit.token('bob')}`, traceparent: `00-${restTrace}-b7ad6b7169203331-01` } });
    expect(kit.logs.some((line) => line.includes(restTrace) && line.includes('/api/usage/me'))).toBe(true);
  });
});
