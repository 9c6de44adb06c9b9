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
 * every store can) and in the store's hashing thread (`hashedReads`); the
 * appends a third time, with the follower fed the leaves the writer thread
 * hashed at commit (the store's default; the hashing thread then reads only
 * what the writer did not give it).
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

type Follower = 'none' | 'main thread' | 'hashing thread' | 'leaves at commit';

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
  const store = await makeSqliteEventStore({ path, synchronous: 'NORMAL', leavesAtCommit: follower === 'leaves at commit' });
  const log = makeLedgerLog({
    store,
    signer: signerFromKey('bench/log', generateKeyPairSync('ed25519').privateKey),
    origin: 'bench/log',
    checkpoints: { latest: async () => undefined, save: async () => undefined },
    checkpointEvery: 1000,
    ...(follower === 'hashing thread' || follower === 'leaves at commit' ? { hashedReads: store.hashedReads } : {}),
  });
  if (follower !== 'none') await log.start();
  const cpuBefore = mainThreadCpuMs();
  const processCpu = process.cpuUsage();
  const result = await runLoad(store, 'many', 64, APPEND_MS);
  const cpuAfter = mainThreadCpuMs();
  const processCpuUs = process.cpuUsage(processCpu);
  // A fresh file: positions 0..events-1. The follower must end with all of them, whichever way it was fed.
  const caughtUp = follower === 'none' || (await log.waitFor(result.events - 1, 60_000) && log.size() === result.events);
  await log.stop();
  const writerBusy = store.stats().writerBusyMs / result.elapsedMs;
  const leaves = store.leafStats();
  await store.close();
  if (!caughtUp) throw new Error(`the ${follower} follower did not catch up`);
  const mainUsPerEvent = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : ((cpuAfter - cpuBefore) * 1000) / result.events;
  const fromCommit = leaves.fromCommit / Math.max(1, leaves.fromCommit + leaves.fromReads);
  const processUsPerEvent = (processCpuUs.user + processCpuUs.system) / result.events;
  return { rate: (result.events * 1000) / result.elapsedMs, mainUsPerEvent, processUsPerEvent, writerBusy, fromCommit };
};

/** Appends/s per follower mode: RUNS rounds, the modes in rotated order each round, medians. */
const appendRates = async (dir: string) => {
  const modes: Follower[] = ['none', 'main thread', 'hashing thread', 'leaves at commit'];
  const rates = new Map<Follower, number[]>(modes.map((m) => [m, []]));
  const cpu = new Map<Follower, number[]>(modes.map((m) => [m, []]));
  const busy = new Map<Follower, number[]>(modes.map((m) => [m, []]));
  const all = new Map<Follower, number[]>(modes.map((m) => [m, []]));
  const fromCommit: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(run + k) % modes.length] as Follower;
      const measured = await appendRate(join(dir, `append-${run}-${k}.db`), mode);
      rates.get(mode)?.push(measured.rate);
      cpu.get(mode)?.push(measured.mainUsPerEvent);
      busy.get(mode)?.push(measured.writerBusy);
      all.get(mode)?.push(measured.processUsPerEvent);
      if (mode === 'leaves at commit') fromCommit.push(measured.fromCommit);
    }
  }
  return {
    rate: (mode: Follower) => median(rates.get(mode) ?? []),
    mainUs: (mode: Follower) => median(cpu.get(mode) ?? []),
    processUs: (mode: Follower) => median(all.get(mode) ?? []),
    writerBusy: (mode: Follower) => median(busy.get(mode) ?? []),
    fromCommit: median(fromCommit),
  };
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
    const withCommit = appends.rate('leaves at commit');
    process.stderr.write(
      `merkle bench: appends ${fmt(without)}/s without the follower, ${fmt(withLog)}/s with it, ${fmt(withThread)}/s with it hashing in its thread, ${fmt(withCommit)}/s fed at commit\n`,
    );
    const loadAfter = loadavg()[0] as number;
    return [
      `### Provable ledger on SQLite (${EVENTS.toLocaleString('en-US')} events, median of ${RUNS}; appends: 64 writers for ${APPEND_MS} ms per run)`,
      '',
      `Machine: ${machine()}; load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
      '',
      `Fed at commit, ${pct(appends.fromCommit, 1)} of the follower's leaves came from the writer thread (the rest were read by the hashing thread: a poll had found them first).`,
      '',
      table(
        ['measure', 'events/s', 'ratio', 'main-thread CPU per appended event', 'process CPU (all threads) per appended event', 'writer thread busy'],
        [
          ['ceiling: plain readAll', fmt(audit.read), '100%', '', '', ''],
          ['Merkle tree only, hashing on the main thread', fmt(audit.merkle), pct(audit.merkle, audit.read), '', '', ''],
          ['Merkle tree only, leaves from the hashing thread', fmt(audit.merkleThread), pct(audit.merkleThread, audit.read), '', '', ''],
          ['audit with full Merkle verification, main thread', fmt(audit.audit), pct(audit.audit, audit.read), '', '', ''],
          ['audit with full Merkle verification, hashing thread', fmt(audit.auditThread), pct(audit.auditThread, audit.read), '', '', ''],
          ['appends, no ledger log follower', fmt(without), '100%', us(appends.mainUs('none')), us(appends.processUs('none')), pct(appends.writerBusy('none'), 1)],
          ['appends, follower hashing on the main thread', fmt(withLog), pct(withLog, without), us(appends.mainUs('main thread')), us(appends.processUs('main thread')), pct(appends.writerBusy('main thread'), 1)],
          ['appends, follower fed by the hashing thread', fmt(withThread), pct(withThread, without), us(appends.mainUs('hashing thread')), us(appends.processUs('hashing thread')), pct(appends.writerBusy('hashing thread'), 1)],
          ['appends, follower fed leaves hashed at commit', fmt(withCommit), pct(withCommit, without), us(appends.mainUs('leaves at commit')), us(appends.processUs('leaves at commit')), pct(appends.writerBusy('leaves at commit'), 1)],
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
