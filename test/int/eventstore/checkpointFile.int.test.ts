import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCheckpointFile } from '../../../adapters/ledger/checkpointFile.js';

/** The sidecar that keeps the service's signed checkpoints (adapters/ledger/checkpointFile.ts). */
const dir = mkdtempSync(join(tmpdir(), 'checkpoint-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const checkpoint = (size: number) => ({ origin: 'test/log', size, root: new Uint8Array(32).fill(size) });

describe('checkpoint file', () => {
  it('keeps the newest note in .latest (no temporary file left) and every note in .log', async () => {
    const base = join(dir, 'a', 'ledger.db.checkpoints');
    const file = makeCheckpointFile(base);
    expect(await file.latest()).toBeUndefined();
    await file.save('note one\n', checkpoint(1));
    await file.save('note two\n', checkpoint(2));
    expect(await file.latest()).toBe('note two\n');
    const lines = readFileSync(`${base}.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { size: number; note: string });
    expect(lines.map((l) => [l.size, l.note])).toEqual([[1, 'note one\n'], [2, 'note two\n']]);
    expect(readdirSync(join(dir, 'a')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an empty .latest (left by a crash) is no checkpoint, not an empty note to serve', async () => {
    const base = join(dir, 'b.checkpoints');
    writeFileSync(`${base}.latest`, '');
    expect(await makeCheckpointFile(base).latest()).toBeUndefined();
  });

  it('saves started together all land, one after another: .latest is the last one saved', async () => {
    const base = join(dir, 'c.checkpoints');
    const file = makeCheckpointFile(base);
    await Promise.all(Array.from({ length: 20 }, (_, i) => file.save(`note ${i}\n`, checkpoint(i))));
    expect(await file.latest()).toBe('note 19\n');
    expect(readFileSync(`${base}.log`, 'utf8').trim().split('\n')).toHaveLength(20);
  });
});
