import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from '@jest/globals';
import type { EventStore } from '../../../application/ports/eventStore.js';
import { forgeOverRefund, ledgerBin, ok, populate } from './auditorKit.js';

/**
 * The five tamper cases of issue 12, from outside, with only a saved
 * checkpoint and the verifier key. One store family per caller: it gives
 * the environment of a store and how to delete its newest rows.
 */
export type TamperTarget = {
  readonly dir: string;
  /** Environment for the CLI on a fresh store named `name` (same key file for all). */
  readonly env: (name: string) => Record<string, string>;
  /** Deletes every event at or after `position` (what an attacker with database access does). */
  readonly deleteFrom: (name: string, position: number) => Promise<void>;
  readonly open: (name: string) => Promise<EventStore>;
};

// Each case spawns the CLI about ten times; the machine is shared and slow.
const TEST_TIMEOUT_MS = 240_000;

export const tamperCases = (target: () => TamperTarget) => {
  const saved = async (t: TamperTarget, name: string) => {
    const env = t.env(name);
    await populate(env, 'alice');
    await populate(env, 'bob', [70, 20, 5]);
    const vkey = join(t.dir, `${name}.vkey`);
    writeFileSync(vkey, (await ok(['key', '--public'], env)).stdout);
    const checkpoint = join(t.dir, `${name}.checkpoint`);
    await ok(['checkpoint', '--out', checkpoint], env);
    return { env, vkey, checkpoint };
  };

  it('(a) honest appends after the checkpoint: verify passes; (b) deleting the newest rows then fails naming the first missing position', async () => {
    const t = target();
    const { env, vkey, checkpoint } = await saved(t, 'honest');
    await populate(env, 'carol');
    const passed = await ledgerBin(['verify', '--checkpoint', checkpoint, '--key', vkey], env);
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain('verify passed');
    // The checkpoint covers 8 events (2 x (open + grant + deduct + grant)); delete from position 6 on.
    await t.deleteFrom('honest', 6);
    const failed = await ledgerBin(['verify', '--checkpoint', checkpoint, '--key', vkey], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('truncated');
    expect(failed.stderr).toContain('first missing: position 6');
  }, TEST_TIMEOUT_MS);

  it('(c) a whole different ledger of the same size, signed with the same key, fails', async () => {
    const t = target();
    const { vkey, checkpoint } = await saved(t, 'original');
    const otherEnv = t.env('impostor');
    await populate(otherEnv, 'alice', [101, 90, 10]);
    await populate(otherEnv, 'bob', [70, 20, 5]);
    // The impostor can sign its own checkpoints with the stolen key: still not the history the auditor saved.
    await ok(['checkpoint'], otherEnv);
    const failed = await ledgerBin(['verify', '--checkpoint', checkpoint, '--key', vkey], otherEnv);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('not the ones the checkpoint signed');
    expect(failed.stderr).toContain('first bad position 0');
  }, TEST_TIMEOUT_MS);

  it('(d) one edited byte of the checkpoint fails the signature', async () => {
    const t = target();
    const { env, vkey, checkpoint } = await saved(t, 'edited');
    const text = readFileSync(checkpoint, 'utf8');
    const lines = text.split('\n');
    const root = lines[2] as string;
    lines[2] = `${root[0] === 'A' ? 'B' : 'A'}${root.slice(1)}`;
    const forged = join(t.dir, 'edited.forged');
    writeFileSync(forged, lines.join('\n'));
    copyFileSync(`${checkpoint}.leaves`, `${forged}.leaves`);
    const failed = await ledgerBin(['verify', '--checkpoint', forged, '--key', vkey], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('does not verify');
    const size = [...text];
    size[text.indexOf('\n') + 1] = '9';
    writeFileSync(forged, size.join(''));
    expect((await ledgerBin(['verify', '--checkpoint', forged, '--key', vkey], env)).code).toBe(1);
  }, TEST_TIMEOUT_MS);

  it('(e) a well-chained over-refund fails the audit, which names it', async () => {
    const t = target();
    const env = t.env('refund');
    await populate(env, 'alice');
    expect((await ledgerBin(['audit'], env)).code).toBe(0);
    const store = await t.open('refund');
    let revision: number;
    try {
      revision = await forgeOverRefund(store, 'alice');
    } finally {
      await store.close();
    }
    const audit = await ledgerBin(['audit'], env);
    expect(audit.code).toBe(1);
    expect(audit.stderr).toContain(`account-alice@${revision}`);
  }, TEST_TIMEOUT_MS);
};
