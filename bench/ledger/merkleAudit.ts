import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLedger } from '../../application/audit.js';
import { eventLeafHash } from '../../application/merkle/eventLeaf.js';
import { makeLedgerLog } from '../../application/merkle/ledgerLog.js';
import { makeMerkleTree } from '../../application/merkle/tree.js';
import { HASH_BYTES } from '../../application/merkle/hashing.js';
import { makeSqliteEventStore, type SqliteEventStore } from '../../adapters/eventstore/sqlite/index.js';
import { signerFromKey } from '../../adapters/ledger/ed25519.js';
import { runLoad } from '../eventstore/workload.js';
import { fmt, machine, median, table } from '../shared.js';
import { populate } from './auditReplay.js';

/**
 * The provable ledger's costs on SQLite (issue 12):
 * - the audit with full Merkle verification (chain + rules + RFC 9162 tree of
 *   every event) beside a plain read of the same events and beside the tree
 *   alone (leaf hashing + tree);
 * - append throughput with and without the ledger log follower hashing
 *   every committed event beside the writers.
 * Each is measured twice in the same run: hashing on the main thread (as
 * every store can) and in the store's hashing thread (`hashedReads`).
 * The machine is usually shared, so the ratios (audit / plain read,
 * appends with the follower / without) say more than the rates.
 */
const EVENTS = Number(process.env['MERKLE_EVENTS'] ?? 300_000);
const RUNS = Number(process.env['RUNS'] ?? 3);
const APPEND_MS = Number(process.env['APPEND_MS'] ?? 5_000);

const time = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

const rate = (ms: readonly number[]) => (EVENTS * 1000) / median(ms);

const auditRates = async (store: SqliteEventStore) => {
  await populate(store, EVENTS);
  const ms = { read: [] as number[], merkle: [] as number[], merkleThread: [] as number[], audit: [] as number[], auditThread: [] as number[] };
  const audited = async (options: Parameters<typeof auditLedger>[1]) => {
    const report = await auditLedger(store, options);
    if (report.violations.length > 0 || report.events !== EVENTS) throw new Error('violations in generated data');
  };
  for (let run = 0; run < RUNS; run++) {
    ms.read.push(await time(async () => {
      for await (const _ of store.readAll()) void _;
    }));
    ms.merkle.push(await time(async () => {
      const tree = makeMerkleTree();
      for await (const e of store.readAll()) tree.append(eventLeafHash(e));
    }));
    ms.merkleThread.push(await time(async () => {
      const tree = makeMerkleTree();
      for (let after = -1; ; ) {
        const range = await store.hashedReads.hashRange(after, 10_000, false);
        const n = range.positions.length;
        for (let i = 0; i < n; i++) tree.append(range.leafHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
        if (n < 10_000) break;
        after = range.positions[n - 1] as number;
      }
    }));
    ms.audit.push(await time(() => audited({})));
    ms.auditThread.push(await time(() => audited({ hashedReads: store.hashedReads })));
  }
  return {
    read: rate(ms.read),
    merkle: rate(ms.merkle),
    merkleThread: rate(ms.merkleThread),
    audit: rate(ms.audit),
    auditThread: rate(ms.auditThread),
  };
};

type Follower = 'none' | 'main thread' | 'hashing thread';

/**
 * CPU time of this process's main thread in ms (Linux: /proc, 10 ms ticks),
 * or undefined elsewhere. On a shared machine the throughput of appends
 * depends on how much CPU the process gets; what the follower takes from
 * the request path is the main thread's CPU per appended event.
 */
const mainThreadCpuMs = (): number | undefined => {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
};

const appendRate = async (path: string, follower: Follower) => {
  const store = await makeSqliteEventStore({ path, synchronous: 'NORMAL' });
  const log = makeLedgerLog({
    store,
    signer: signerFromKey('bench/log', generateKeyPairSync('ed25519').privateKey),
    origin: 'bench/log',
    checkpoints: { latest: async () => undefined, save: async () => undefined },
    checkpointEvery: 1000,
    ...(follower === 'hashing thread' ? { hashedReads: store.hashedReads } : {}),
  });
  if (follower !== 'none') await log.start();
  const cpuBefore = mainThreadCpuMs();
  const result = await runLoad(store, 'many', 64, APPEND_MS);
  const cpuAfter = mainThreadCpuMs();
  await log.stop();
  await store.close();
  const mainUsPerEvent = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : ((cpuAfter - cpuBefore) * 1000) / result.events;
  return { rate: (result.events * 1000) / result.elapsedMs, mainUsPerEvent };
};

/** Appends/s per follower mode: RUNS rounds, the modes in rotated order each round, medians. */
const appendRates = async (dir: string) => {
  const modes: Follower[] = ['none', 'main thread', 'hashing thread'];
  const rates = new Map<Follower, number[]>(modes.map((m) => [m, []]));
  const cpu = new Map<Follower, number[]>(modes.map((m) => [m, []]));
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(run + k) % modes.length] as Follower;
      const measured = await appendRate(join(dir, `append-${run}-${k}.db`), mode);
      rates.get(mode)?.push(measured.rate);
      cpu.get(mode)?.push(measured.mainUsPerEvent);
    }
  }
  return { rate: (mode: Follower) => median(rates.get(mode) ?? []), mainUs: (mode: Follower) => median(cpu.get(mode) ?? []) };
};

const us = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} µs` : 'n/a');

const pct = (part: number, whole: number) => `${((part / whole) * 100).toFixed(0)}%`;

export const runMerkleBench = async (): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-merkle-'));
  try {
    const loadBefore = loadavg()[0] as number;
    const store = await makeSqliteEventStore({ path: join(dir, 'audit.db'), synchronous: 'NORMAL' });
    const audit = await auditRates(store);
    await store.close();
    process.stderr.write(`merkle bench: read ${fmt(audit.read)}/s, tree ${fmt(audit.merkle)}/s (thread ${fmt(audit.merkleThread)}/s), audit ${fmt(audit.audit)}/s (thread ${fmt(audit.auditThread)}/s)\n`);
    const appends = await appendRates(dir);
    const without = appends.rate('none');
    const withLog = appends.rate('main thread');
    const withThread = appends.rate('hashing thread');
    process.stderr.write(`merkle bench: appends ${fmt(without)}/s without the follower, ${fmt(withLog)}/s with it, ${fmt(withThread)}/s with it hashing in its thread\n`);
    const loadAfter = loadavg()[0] as number;
    return [
      `### Provable ledger on SQLite (${EVENTS.toLocaleString('en-US')} events, median of ${RUNS}; appends: 64 writers for ${APPEND_MS} ms per run)`,
      '',
      `Machine: ${machine()}; load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
      '',
      table(
        ['measure', 'events/s', 'ratio', 'main-thread CPU per appended event'],
        [
          ['ceiling: plain readAll', fmt(audit.read), '100%', ''],
          ['Merkle tree only, hashing on the main thread', fmt(audit.merkle), pct(audit.merkle, audit.read), ''],
          ['Merkle tree only, leaves from the hashing thread', fmt(audit.merkleThread), pct(audit.merkleThread, audit.read), ''],
          ['audit with full Merkle verification, main thread', fmt(audit.audit), pct(audit.audit, audit.read), ''],
          ['audit with full Merkle verification, hashing thread', fmt(audit.auditThread), pct(audit.auditThread, audit.read), ''],
          ['appends, no ledger log follower', fmt(without), '100%', us(appends.mainUs('none'))],
          ['appends, follower hashing on the main thread', fmt(withLog), pct(withLog, without), us(appends.mainUs('main thread'))],
          ['appends, follower fed by the hashing thread', fmt(withThread), pct(withThread, without), us(appends.mainUs('hashing thread'))],
        ],
      ),
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runMerkleBench());
}
