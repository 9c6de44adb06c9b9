import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { auditLedger } from '../../../application/audit.js';
import type { RecordedEvent } from '../../../application/ports/eventStore.js';
import { makeSqliteEventStore } from '../../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { collect } from '../../contract/eventStore.contract.js';

/**
 * Crash test: a child process appends under load through the SQLite adapter
 * (synchronous=FULL) and is killed with SIGKILL at a random moment, 20 times
 * on the same file. After each kill, every append the child reported as
 * acknowledged must be in the file, revisions and positions must be gapless,
 * and the ledger audit (hash chains) must pass.
 *
 * The child runs the adapter's TypeScript through test/support/swcRegister.mjs
 * (Node's module hooks + @swc/core), so it exercises exactly the code under test.
 */
const KILLS = 20;
const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Ack = { readonly stream: string; readonly first: number; readonly count: number; readonly token: string };

/** Starts the child, kills it `delayMs` after its first acknowledgement, and returns every acknowledgement it printed. */
const runAndKill = (path: string, run: number, delayMs: number) =>
  new Promise<Ack[]>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './test/support/swcRegister.mjs', 'test/support/crashAppender.ts', path, String(run)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (buffered + chunk.toString()).split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, stream, first, count, token] = line.split(' ');
        if (kind !== 'ack' || stream === undefined || token === undefined) continue;
        acks.push({ stream, first: Number(first), count: Number(count), token });
        timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended by itself (code ${code}): ${stderr}`));
      else resolve(acks);
    });
  });

const verify = (events: readonly RecordedEvent[], acks: readonly Ack[]) => {
  expect(events.map((e) => e.position)).toEqual(events.map((_, i) => i));
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of events) byStream.set(e.streamName, [...(byStream.get(e.streamName) ?? []), e]);
  for (const stream of byStream.values()) expect(stream.map((e) => e.revision)).toEqual(stream.map((_, i) => i));
  for (const ack of acks) {
    const stream = byStream.get(ack.stream) ?? [];
    for (let i = 0; i < ack.count; i++) {
      const found = stream[ack.first + i];
      if (found?.data['token'] !== ack.token) throw new Error(`acknowledged ${ack.stream}@${ack.first + i} (${ack.token}) is missing`);
    }
  }
};

describe('sqlite event store: crash safety', () => {
  it(
    `keeps every acknowledged append across ${KILLS} SIGKILLs under load`,
    async () => {
      const path = join(dir, 'crash.db');
      const acks: Ack[] = [];
      for (let run = 0; run < KILLS; run++) {
        const fresh = await runAndKill(path, run, Math.floor(Math.random() * 150));
        expect(fresh.length).toBeGreaterThan(0);
        acks.push(...fresh);
        const store = await makeSqliteEventStore({ path });
        verify(await collect(store.readAll()), acks);
        expect((await auditLedger(store)).violations).toEqual([]);
        await store.close();
      }
      expect(acks.length).toBeGreaterThan(KILLS);
    },
    120_000,
  );
});
