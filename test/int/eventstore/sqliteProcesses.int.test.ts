import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { makeSqliteEventStore } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { collect } from '../../contract/eventStore.contract.js';

/**
 * Two processes race on one stream of one SQLite file (test/support/sqliteRacer.ts):
 * optimistic concurrency must hold across processes, so every revision has
 * exactly one winner and the stream stays gapless.
 */
const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-processes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ATTEMPTS = 150;

const startRacer = (path: string, label: string) => {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', './test/support/swcRegister.mjs', 'test/support/sqliteRacer.ts', path, 'contested', label, String(ATTEMPTS)],
    { cwd: root },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => (stdout.startsWith('ready\n') ? resolve() : undefined);
    child.stdout.on('data', check);
    child.on('close', () => reject(new Error(`racer ${label} ended before it was ready: ${stderr}`)));
  });
  const done = new Promise<string[]>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(stdout.split('\n').slice(1, -1)) : reject(new Error(`racer ${label}: ${stderr}`))));
  });
  return { child, ready, done };
};

describe('sqlite event store: two processes on one file', () => {
  it('gives each revision of a contested stream to exactly one process', async () => {
    const path = join(dir, 'race.db');
    const racers = [startRacer(path, 'p1'), startRacer(path, 'p2')];
    await Promise.all(racers.map((r) => r.ready));
    for (const racer of racers) racer.child.stdin.write('go\n');
    const [lines1, lines2] = await Promise.all(racers.map((r) => r.done));
    const wins = new Map<number, string>();
    let lost = 0;
    for (const [label, lines] of [['p1', lines1 ?? []], ['p2', lines2 ?? []]] as const) {
      expect(lines).toHaveLength(ATTEMPTS);
      for (const line of lines) {
        const [outcome, revision] = line.split(' ');
        if (outcome === 'lost') lost++;
        else {
          expect(wins.has(Number(revision))).toBe(false);
          wins.set(Number(revision), label);
        }
      }
    }
    // Both really raced: some appends lost, and both processes won some.
    expect(lost).toBeGreaterThan(0);
    expect(new Set(wins.values()).size).toBe(2);

    const store = await makeSqliteEventStore({ path });
    const events = await collect(store.readStream('contested'));
    await store.close();
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i));
    expect(events).toHaveLength(wins.size);
    for (const e of events) expect(e.data['by']).toBe(wins.get(e.revision));
  }, 30_000);
});
