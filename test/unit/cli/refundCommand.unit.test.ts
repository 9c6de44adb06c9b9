import { describe, expect, it } from '@jest/globals';
import { parse } from '../../../adapters/cli/args.js';
import type { Io } from '../../../adapters/cli/args.js';
import { runCommand } from '../../../adapters/cli/commands.js';
import { makeMemoryEventStore } from '../../../adapters/eventstore/memory/memoryEventStore.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false, env: {} };
  return { io, out, err };
};

describe('ledger refund --settlement', () => {
  it('refunds a settled hold; a refund names exactly one charge', async () => {
    const store = makeMemoryEventStore();
    const run = async (...argv: string[]) => {
      const c = capture();
      const code = await runCommand(parse([...argv, '--json']), store, c.io);
      return { code, body: c.out.length > 0 ? JSON.parse(c.out[c.out.length - 1] as string) : undefined };
    };
    expect((await run('grant', 'acc', '100', '--id', 'g', '--priority', '2')).code).toBe(0);
    expect((await run('reserve', 'acc', '60', '--id', 'r')).code).toBe(0);
    expect((await run('settle', 'acc', '--id', 'r', '--charge', '40')).code).toBe(0);
    const refunded = await run('refund', 'acc', '15', '--settlement', 'r', '--id', 'f1');
    expect(refunded).toMatchObject({ code: 0, body: { refundId: 'f1', amount: 15, balance: 75 } });
    expect((await run('refund', 'acc', '26', '--settlement', 'r', '--id', 'f2')).code).toBe(1);
    await expect(run('refund', 'acc', '1', '--id', 'f3')).rejects.toThrow(/exactly one/);
    await expect(run('refund', 'acc', '1', '--id', 'f3', '--deduction', 'd', '--settlement', 'r')).rejects.toThrow(/exactly one/);
  });
});
