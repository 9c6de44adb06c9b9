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
import type { Synchronous } from '../../adapters/eventstore/sqlite/sqliteSchema.js';
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
 * The audit is measured hashing on the main thread (as every store can) and
 * in the store's hashing thread (`hashedReads`). The appends are measured
 * without the follower, with it hashing on the main thread, and with it fed
 * by the store's hashing thread at nice 19 (the default) or at the process's
 * priority (`Follower`), each with SQLite synchronous
 * NORMAL and FULL (the product default, one fsync per commit), the modes in
 * a rotated order each round. (Three more ways to feed it, leaves hashed by
 * the writer thread before or after answering and rows forwarded from the
 * writer to the hashing thread, were measured at commit b112631 and removed:
 * none beat reading back; docs/benchmarks.md, issue 12.)
 * The machine is usually shared, so the ratios (audit / plain read,
 * appends with the follower / without) say more than the rates.
 * Env: MERKLE_EVENTS (0 skips the audit), RUNS, APPEND_MS, SYNCS
 * (comma-separated, default NORMAL,FULL).
 */
const EVENTS = Number(process.env['MERKLE_EVENTS'] ?? 300_000);
const SYNCS = (process.env['SYNCS'] ?? 'NORMAL,FULL').split(',') as Synchronous[];
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

/**
 * How the ledger log follower gets its leaves: not at all, hashing on the
 * main thread, or from the store's hashing thread, lowered to nice 19 (the
 * default) or left at the process's priority.
 */
type Follower = 'none' | 'main thread' | 'read' | 'read, not lowered';

const MODES: readonly Follower[] = ['none', 'main thread', 'read', 'read, not lowered'];

const MODE_NAMES: Record<Follower, string> = {
  none: 'no ledger log follower',
  'main thread': 'follower hashing on the main thread',
  read: 'follower fed by the hashing thread at nice 19 (default)',
  'read, not lowered': 'follower fed by the hashing thread at the process priority',
};

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

const appendRate = async (path: string, follower: Follower, synchronous: Synchronous) => {
  const fromStore = follower === 'read' || follower === 'read, not lowered';
  const store = await makeSqliteEventStore({ path, synchronous, ...(follower === 'read, not lowered' ? { followerNice: 0 } : {}) });
  const log = makeLedgerLog({
    store,
    signer: signerFromKey('bench/log', generateKeyPairSync('ed25519').privateKey),
    origin: 'bench/log',
    checkpoints: { latest: async () => undefined, save: async () => undefined },
    checkpointEvery: 1000,
    ...(fromStore ? { hashedReads: store.hashedReads } : {}),
  });
  if (follower !== 'none') await log.start();
  const cpuBefore = mainThreadCpuMs();
  const processCpu = process.cpuUsage();
  const result = await runLoad(store, 'many', 64, APPEND_MS);
  const cpuAfter = mainThreadCpuMs();
  const processCpuUs = process.cpuUsage(processCpu);
  // How far the log was behind when the burst ended, and how long it took to catch up after.
  const behind = follower === 'none' ? 0 : result.events - log.size();
  const catchUpStart = performance.now();
  // A fresh file: positions 0..events-1. The follower must end with all of them, whichever way it was fed.
  const caughtUp = follower === 'none' || (await log.waitFor(result.events - 1, 60_000) && log.size() === result.events);
  const catchUpMs = performance.now() - catchUpStart;
  const wholeCpuUs = process.cpuUsage(processCpu);
  await log.stop();
  const writerBusy = store.stats().writerBusyMs / result.elapsedMs;
  await store.close();
  if (!caughtUp) throw new Error(`the ${follower} follower did not catch up`);
  const mainUsPerEvent = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : ((cpuAfter - cpuBefore) * 1000) / result.events;
  const processUsPerEvent = (processCpuUs.user + processCpuUs.system) / result.events;
  const wholeUsPerEvent = (wholeCpuUs.user + wholeCpuUs.system) / result.events;
  return { rate: (result.events * 1000) / result.elapsedMs, mainUsPerEvent, processUsPerEvent, wholeUsPerEvent, behind: behind / result.events, catchUpMs, writerBusy };
};

/** Appends/s per follower mode and synchronous setting: RUNS rounds, the modes in rotated order each round, medians. */
const appendRates = async (dir: string, synchronous: Synchronous) => {
  const series = () => new Map<Follower, number[]>(MODES.map((m) => [m, []]));
  const rates = series();
  const cpu = series();
  const busy = series();
  const all = series();
  const whole = series();
  const behind = series();
  const catchUp = series();
  // Each mode's rate over the no-follower rate of the same round: the load drifts less within a round than across the run.
  const ratios = series();
  for (let run = 0; run < RUNS; run++) {
    const round = new Map<Follower, number>();
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(run + k) % MODES.length] as Follower;
      const measured = await appendRate(join(dir, `append-${synchronous}-${run}-${k}.db`), mode, synchronous);
      rates.get(mode)?.push(measured.rate);
      round.set(mode, measured.rate);
      cpu.get(mode)?.push(measured.mainUsPerEvent);
      busy.get(mode)?.push(measured.writerBusy);
      all.get(mode)?.push(measured.processUsPerEvent);
      whole.get(mode)?.push(measured.wholeUsPerEvent);
      behind.get(mode)?.push(measured.behind);
      catchUp.get(mode)?.push(measured.catchUpMs);
      process.stderr.write(`merkle bench: ${synchronous} round ${run + 1} ${mode}: ${fmt(measured.rate)}/s, ${us(measured.processUsPerEvent)}/event, behind ${pct(measured.behind, 1)} at the end, caught up in ${measured.catchUpMs.toFixed(0)} ms, load ${(loadavg()[0] as number).toFixed(1)}\n`);
    }
    for (const mode of MODES) ratios.get(mode)?.push((round.get(mode) ?? Number.NaN) / (round.get('none') ?? Number.NaN));
  }
  const of = (values: Map<Follower, number[]>) => (mode: Follower) => median(values.get(mode) ?? []);
  return { rate: of(rates), ratio: of(ratios), mainUs: of(cpu), processUs: of(all), wholeUs: of(whole), behind: of(behind), catchUpMs: of(catchUp), writerBusy: of(busy) };
};

/**
 * The appends' table for one synchronous setting. "Follower CPU" is the
 * process CPU per event above the no-follower run's, as a share of it: with
 * appends CPU-bound, keeping 90% of their throughput needs it under ~10%.
 * "Behind at the end" is the share of the burst's events not yet in the tree
 * when the appends stopped, "caught up in" the time the follower then took;
 * "process CPU per event, with the catch-up" counts that time too.
 */
const appendTable = (synchronous: Synchronous, appends: Awaited<ReturnType<typeof appendRates>>) => {
  const without = appends.rate('none');
  const baseUs = appends.processUs('none');
  const row = (mode: Follower) => [
    `${synchronous}: ${MODE_NAMES[mode]}`,
    fmt(appends.rate(mode)),
    pct(appends.rate(mode), without),
    pct(appends.ratio(mode), 1),
    us(appends.mainUs(mode)),
    us(appends.processUs(mode)),
    mode === 'none' ? '' : pct(appends.processUs(mode) - baseUs, baseUs),
    us(appends.wholeUs(mode)),
    mode === 'none' ? '' : pct(appends.behind(mode), 1),
    mode === 'none' ? '' : `${appends.catchUpMs(mode).toFixed(0)} ms`,
    pct(appends.writerBusy(mode), 1),
  ];
  return table(
    [
      'appends',
      'events/s',
      'ratio of medians',
      'median of per-round ratios',
      'main-thread CPU per event',
      'process CPU per event',
      'follower CPU (share of no-follower CPU)',
      'process CPU per event, with the catch-up',
      'behind at the end',
      'caught up in',
      'writer thread busy',
    ],
    MODES.map(row),
  );
};

const us = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} µs` : 'n/a');

const pct = (part: number, whole: number) => `${((part / whole) * 100).toFixed(0)}%`;

const auditTable = async (dir: string) => {
  const store = await makeSqliteEventStore({ path: join(dir, 'audit.db'), synchronous: 'NORMAL' });
  const audit = await auditRates(store);
  await store.close();
  process.stderr.write(`merkle bench: read ${fmt(audit.read)}/s, tree ${fmt(audit.merkle)}/s (thread ${fmt(audit.merkleThread)}/s), audit ${fmt(audit.audit)}/s (thread ${fmt(audit.auditThread)}/s)\n`);
  return table(
    ['measure (synchronous NORMAL)', 'events/s', 'ratio'],
    [
      ['ceiling: plain readAll', fmt(audit.read), '100%'],
      ['Merkle tree only, hashing on the main thread', fmt(audit.merkle), pct(audit.merkle, audit.read)],
      ['Merkle tree only, leaves from the hashing thread', fmt(audit.merkleThread), pct(audit.merkleThread, audit.read)],
      ['audit with full Merkle verification, main thread', fmt(audit.audit), pct(audit.audit, audit.read)],
      ['audit with full Merkle verification, hashing thread', fmt(audit.auditThread), pct(audit.auditThread, audit.read)],
    ],
  );
};

export const runMerkleBench = async (): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-merkle-'));
  try {
    const loadBefore = loadavg()[0] as number;
    const sections = EVENTS > 0 ? [await auditTable(dir), ''] : [];
    for (const synchronous of SYNCS) sections.push(appendTable(synchronous, await appendRates(dir, synchronous)), '');
    const loadAfter = loadavg()[0] as number;
    return [
      `### Provable ledger on SQLite (${EVENTS.toLocaleString('en-US')} events, median of ${RUNS}; appends: 64 writers for ${APPEND_MS} ms per run)`,
      '',
      `Machine: ${machine()}; load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
      '',
      ...sections,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runMerkleBench());
}
