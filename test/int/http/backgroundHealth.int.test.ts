import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kit } from './httpKit.js';
import { json, makeKit } from './httpKit.js';

/**
 * Issue 10, case 7: background work reports its state in /health, and an
 * unhandled rejection is logged and counted, never fatal.
 */
let kit: Kit;
beforeAll(async () => {
  kit = await makeKit();
});
afterAll(async () => kit.close());

describe('background state', () => {
  it('/health lists the supervised tasks (last success, consecutive failures, lag) and their gauges', async () => {
    const body = json(await kit.inject({ method: 'GET', url: '/health' }));
    const background = body['background'] as { tasks: { name: string; consecutiveFailures: number; lagMs: number }[]; gauges: Record<string, number>; unhandledRejections: number };
    const names = background.tasks.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['sweeper.subscription', 'sweeper.tick', 'settlements.pending', 'ledger log']));
    expect(background.tasks.find((t) => t.name === 'ledger log')).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: expect.any(Number) });
    expect(background.tasks.find((t) => t.name === 'sweeper.subscription')).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: expect.any(Number) });
    expect(background.gauges).toMatchObject({ 'settlements.pending': 0, 'sweeper.trackedAccounts': 0 });
    expect(background.unhandledRejections).toBe(0);
  });

  it('an unhandled rejection in the running service is counted and the process lives on', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', './test/support/swcRegister.mjs', 'test/support/unhandledRejectionChild.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.stderr).not.toContain('nobody handles this one');
    expect(out.stdout.trim()).toBe('alive 2');
    expect(out.code).toBe(0);
  }, 60_000);
});
