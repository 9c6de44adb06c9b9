// Append throughput of every EventStore, beside the raw-insert ceiling of its storage.
//
//   node --import ./test/support/swcRegister.mjs bench/eventstore/appendBench.ts [--ms=400] [--runs=3] [--json]
//
// or `runAppendBench()` from another script, which returns the markdown.
//
// For memory, sqlite FULL, sqlite NORMAL and postgres (DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test; skipped with a note if it does not
// answer), with 1, 16 and 64 concurrent callers, over many streams and on one
// hot stream (see workload.ts), it runs each case --runs times for --ms and
// prints the medians as a markdown table, with two ceilings (ceilings.ts): raw
// batched inserts with the same batch size as the number of callers (what
// perfect group commit could reach), and with 1000 appends per transaction.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { EventStore } from '../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../adapters/eventstore/memory/memoryEventStore.js';
import { makePostgresEventStore } from '../../adapters/eventstore/postgres/postgresEventStore.js';
import { makeSqliteEventStore } from '../../adapters/eventstore/sqlite/sqliteEventStore.js';
import { machine, median } from '../shared.js';
import { postgresCeiling, sqliteCeiling, type CeilingResult } from './ceilings.js';
import { runLoad, type Scenario } from './workload.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
type BenchConfig = { readonly durationMs: number; readonly runs: number };
const CALLERS = [1, 16, 64] as const;
const SCENARIOS: readonly Scenario[] = ['many', 'hot'];
const BIG_BATCH = 1000;
const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

type StoreWithStats = EventStore & { readonly stats?: () => { readonly transactions: number } };
type Target = {
  readonly name: string;
  /** Opens the store; `fresh` targets are reopened for every run (memory keeps everything in RAM). */
  readonly open: () => Promise<StoreWithStats>;
  readonly fresh: boolean;
  readonly ceiling?: (scenario: Scenario, appendsPerTxn: number) => Promise<CeilingResult>;
};

export type Row = {
  readonly store: string;
  readonly scenario: Scenario;
  readonly callers: number;
  readonly appendsPerSecond: number;
  readonly eventsPerSecond: number;
  readonly appendsPerTxn: number | undefined;
  readonly conflicts: number;
  readonly ceilingSameBatch: number | undefined;
  readonly ceilingBigBatch: number | undefined;
};

const measure = async (config: BenchConfig, target: Target, shared: StoreWithStats | undefined, scenario: Scenario, callers: number): Promise<Row> => {
  const runs: { appendsPerSecond: number; eventsPerSecond: number; perTxn: number | undefined; conflicts: number }[] = [];
  for (let run = 0; run < config.runs; run++) {
    const store = shared ?? (await target.open());
    const before = store.stats?.().transactions;
    const result = await runLoad(store, scenario, callers, config.durationMs);
    const after = store.stats?.().transactions;
    const transactions = before === undefined || after === undefined ? undefined : after - before;
    if (shared === undefined) await store.close();
    runs.push({
      appendsPerSecond: (result.appends / result.elapsedMs) * 1000,
      eventsPerSecond: (result.events / result.elapsedMs) * 1000,
      perTxn: transactions === undefined || transactions === 0 ? undefined : (result.appends + result.conflicts) / transactions,
      conflicts: result.conflicts,
    });
  }
  const ceilingRuns: number[] = [];
  for (let run = 0; run < config.runs && target.ceiling !== undefined; run++) ceilingRuns.push((await target.ceiling(scenario, callers)).appendsPerSecond);
  const perTxn = runs.map((r) => r.perTxn).filter((v): v is number => v !== undefined);
  return {
    store: target.name,
    scenario,
    callers,
    appendsPerSecond: median(runs.map((r) => r.appendsPerSecond)),
    eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
    appendsPerTxn: perTxn.length === 0 ? undefined : median(perTxn),
    conflicts: runs.reduce((sum, r) => sum + r.conflicts, 0),
    ceilingSameBatch: ceilingRuns.length === 0 ? undefined : median(ceilingRuns),
    ceilingBigBatch: undefined,
  };
};

const bigCeiling = async (config: BenchConfig, target: Target, scenario: Scenario): Promise<number | undefined> => {
  if (target.ceiling === undefined) return undefined;
  const runs: number[] = [];
  for (let run = 0; run < config.runs; run++) runs.push((await target.ceiling(scenario, BIG_BATCH)).appendsPerSecond);
  return median(runs);
};

const postgresVersion = async (): Promise<string | undefined> => {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return rows[0]?.v;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
};

const makeTargets = (config: BenchConfig, dir: string, schema: string, withPostgres: boolean): Target[] => {
  const sqlite = (synchronous: 'FULL' | 'NORMAL'): Target => ({
    name: `sqlite ${synchronous}`,
    open: () => makeSqliteEventStore({ path: join(dir, `store-${synchronous}.db`), synchronous }),
    fresh: false,
    ceiling: async (scenario, batch) => sqliteCeiling(join(dir, `ceiling-${synchronous}.db`), synchronous, scenario, batch, config.durationMs),
  });
  const targets: Target[] = [{ name: 'memory', open: async () => makeMemoryEventStore(), fresh: true }, sqlite('FULL'), sqlite('NORMAL')];
  if (withPostgres) {
    targets.push({
      name: 'postgres',
      open: () => makePostgresEventStore({ connectionString: databaseUrl, schema }),
      fresh: false,
      ceiling: (scenario, batch) => postgresCeiling(databaseUrl, schema, scenario, batch, config.durationMs),
    });
  }
  return targets;
};

const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
const pct = (n: number, of: number | undefined) => (of === undefined ? '-' : `${Math.round((n / of) * 100)}%`);

const tableLines = (rows: readonly Row[]): string[] => [
  '| store | streams | callers | appends/s | events/s | appends/txn | ceiling, same batch (appends/s) | of it | ceiling, 1000/txn | of it |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => {
    const perTxn = r.appendsPerTxn === undefined ? '-' : r.appendsPerTxn.toFixed(1);
    const conflicts = r.conflicts > 0 ? ` (${r.conflicts} conflicts)` : '';
    return (
      `| ${r.store} | ${r.scenario} | ${r.callers} | ${fmt(r.appendsPerSecond)}${conflicts} | ${fmt(r.eventsPerSecond)} | ${perTxn} | ` +
      `${fmt(r.ceilingSameBatch)} | ${pct(r.appendsPerSecond, r.ceilingSameBatch)} | ${fmt(r.ceilingBigBatch)} | ${pct(r.appendsPerSecond, r.ceilingBigBatch)} |`
    );
  }),
];

const sqliteVersion = (): string => {
  const db = new Database(':memory:');
  const version = db.prepare('SELECT sqlite_version()').pluck().get() as string;
  db.close();
  return version;
};

const measureAll = async (config: BenchConfig, dir: string, schema: string, withPostgres: boolean): Promise<Row[]> => {
  const rows: Row[] = [];
  for (const target of makeTargets(config, dir, schema, withPostgres)) {
    const shared = target.fresh ? undefined : await target.open();
    if (shared !== undefined) await runLoad(shared, 'many', 16, 200); // warm-up: schema, pages, JIT
    for (const scenario of SCENARIOS) {
      const big = await bigCeiling(config, target, scenario);
      for (const callers of CALLERS) rows.push({ ...(await measure(config, target, shared, scenario, callers)), ceilingBigBatch: big });
    }
    await shared?.close();
  }
  return rows;
};

/** Runs every case and returns the report as markdown (and the rows, for --json). */
export const runAppendBench = async (options: Partial<BenchConfig> = {}): Promise<{ markdown: string; rows: Row[] }> => {
  const config: BenchConfig = { durationMs: options.durationMs ?? 400, runs: options.runs ?? 3 };
  const started = performance.now();
  const loadBefore = loadavg()[0] ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
  const schema = `bench_${Math.random().toString(36).slice(2, 10)}`;
  const pgVersion = await postgresVersion();
  let rows: Row[];
  try {
    rows = await measureAll(config, dir, schema, pgVersion !== undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (pgVersion !== undefined) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }
  const markdown = [
    `## EventStore appends (median of ${config.runs} runs of ${config.durationMs} ms each)`,
    '',
    `Machine: ${machine()}; SQLite ${sqliteVersion()}; PostgreSQL ${pgVersion ?? 'not reachable (skipped)'}.`,
    `Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)} (other work on the machine skews the figures).`,
    'An append carries 1 or 2 ledger-sized events; "hot" = one stream, pipelined expected revisions.',
    '',
    ...tableLines(rows),
    '',
    `(total ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  ].join('\n');
  return { markdown, rows };
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdown, rows } = await runAppendBench({ durationMs: arg('ms', 400), runs: arg('runs', 3) });
  console.log(markdown);
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
}
