import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { makeSqliteUsageReadModel } from '../../../adapters/projections/sqliteUsageReadModel.js';
import { runCli } from '../../support/runCli.js';

/** `ledger projections status|rebuild` on a SQLite ledger, through the real CLI. */
const dir = mkdtempSync(join(tmpdir(), 'usage-cli-'));
const env = { EVENT_STORE: `sqlite:${join(dir, 'ledger.db')}` };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = async (args: string[]) => {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`ledger ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
};

describe('ledger projections', () => {
  it('status shows the lag before a rebuild; rebuild replays from 0 and a second rebuild gives the same rows', async () => {
    await ok(['grant', 'ann', '1000', '--id', 'g1']);
    await ok(['reserve', 'ann', '100', '--id', 'r1', '--service', 'llm']);
    await ok(['settle', 'ann', '--id', 'r1', '--charge', '40', '--provider', 'openai', '--model', 'gpt-4o', '--input-tokens', '10', '--output-tokens', '20', '--price-version', 'v1']);
    await ok(['deduct', 'ann', '25', '--id', 'd1', '--service', 'sora2']);

    const before = JSON.parse((await ok(['projections', 'status', '--json'])).stdout) as { position: number; head: number; lagEvents: number };
    expect(before).toMatchObject({ position: -1, lagEvents: 5 });

    const rebuilt = JSON.parse((await ok(['projections', 'rebuild', '--json'])).stdout) as { events: number; position: number };
    expect(rebuilt).toMatchObject({ events: 5, position: before.head });
    const after = JSON.parse((await ok(['projections', 'status', '--json'])).stdout) as { position: number; lagEvents: number };
    expect(after).toMatchObject({ position: before.head, lagEvents: 0 });

    const read = async () => {
      const model = makeSqliteUsageReadModel(join(dir, 'ledger.usage.db'));
      try {
        return (await model.query({ groupBy: ['service'], limit: 10, offset: 0 })).rows;
      } finally {
        await model.close();
      }
    };
    const rows = await read();
    expect(rows).toEqual([
      expect.objectContaining({ service: 'llm', requests: 1, completed: 1, creditsHeld: 100, creditsCharged: 40, inputTokens: 10, outputTokens: 20 }),
      expect.objectContaining({ service: 'sora2', requests: 1, completed: 1, creditsCharged: 25 }),
    ]);
    await ok(['projections', 'rebuild']);
    expect(await read()).toEqual(rows);

    const bad = await runCli(['projections', 'explode'], env);
    expect(bad.code).toBe(2);
    // Nine CLI processes, each loading the TypeScript sources: generous on a loaded machine.
  }, 240_000);
});
