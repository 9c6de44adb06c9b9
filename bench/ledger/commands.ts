import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { makeLedger } from '../../application/credits/ledger.js';
import type { Ledger } from '../../application/credits/ledger.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../adapters/eventstore/memory/memoryEventStore.js';
import { makePostgresEventStore } from '../../adapters/eventstore/postgres/index.js';
import { makeSqliteEventStore } from '../../adapters/eventstore/sqlite/index.js';
import { systemClock, systemIds } from '../../adapters/system/clockAndIds.js';
import { postgresCeiling, sqliteCeiling } from '../eventstore/ceilings.js';
import { fmt, machine, median, table } from '../shared.js';

/**
 * Ledger commands per second through the whole application path (command
 * handler: cached state, decide, hash chain, append with expected revision),
 * beside the raw batched-insert ceiling of the same store measured in the same
 * run with the batch size equal to the number of callers (what perfect group
 * commit could reach at that concurrency).
 *
 *   node --import ./test/support/swcRegister.mjs bench/ledger/commands.ts [--ms=1000] [--runs=3]
 */
const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const DURATION_MS = arg('ms', 1000);
const RUNS = arg('runs', 3);
const CALLERS = [1, 16, 64] as const;
const ACCOUNTS = 1000;
type Scenario = 'many' | 'hot';
type Workload = 'deduct' | 'reserve+settle' | 'reserve+progress+settle';
const WORKLOADS: readonly Workload[] = ['deduct', 'reserve+settle', 'reserve+progress+settle'];
/** `--only=memory,sqlite FULL` limits the stores measured. */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.split('=')[1]?.split(',');

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const prepare = async (ledger: Ledger, scenario: Scenario) => {
  const accounts = scenario === 'hot' ? ['hot'] : Array.from({ length: ACCOUNTS }, (_, i) => `acct${i}`);
  await Promise.all(accounts.map((accountId) => ledger.grant({ accountId, grantId: 'seed', amount: 1_000_000_000_000 })));
  return accounts;
};

let loads = 0;
/**
 * Runs `callers` loops for the duration; returns commands and streams per second.
 * `reserve+progress+settle` is a stream of 5 to 10 s at the default
 * HOLD_PROGRESS_MS of 5 s: its hold records its progress once before it settles.
 */
const load = async (
  ledger: Ledger,
  accounts: readonly string[],
  workload: Workload,
  callers: number,
  ms = DURATION_MS,
): Promise<{ readonly commands: number; readonly streams: number; readonly cpuUsPerStream: number }> => {
  let commands = 0;
  let streams = 0;
  let seq = 0;
  const loadRun = loads++;
  const deadline = performance.now() + ms;
  const caller = async (c: number) => {
    while (performance.now() < deadline) {
      const accountId = accounts[(c + seq * callers) % accounts.length] as string;
      const id = `${loadRun}-${c}-${seq++}`;
      if (workload === 'deduct') {
        await ledger.deduct({ accountId, deductionId: id, amount: 1, service: 'bench' });
        commands += 1;
      } else {
        await ledger.reserve({ accountId, reservationId: id, amount: 100, ttlMs: 600_000, purpose: { service: 'llm', model: 'gpt-4o' } });
        if (workload === 'reserve+progress+settle') {
          await ledger.progress({ accountId, reservationId: id, charge: 20, usage: { provider: 'openai', model: 'gpt-4o', inputTokens: 12, outputTokens: 15 }, priceSheetVersion: 'bench', ttlMs: 600_000 });
          commands += 1;
        }
        await ledger.settle({ accountId, reservationId: id, charge: 37, usage: { provider: 'openai', model: 'gpt-4o', inputTokens: 12, outputTokens: 30 }, priceSheetVersion: 'bench' });
        commands += 2;
        streams += 1;
      }
    }
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (performance.now() - started) / 1000;
  // CPU time (all threads of this process) is steadier than throughput on a shared machine.
  return { commands: commands / seconds, streams: streams / seconds, cpuUsPerStream: streams === 0 ? 0 : (cpu.user + cpu.system) / streams };
};

type Target = { readonly name: string; readonly open: () => Promise<EventStore>; readonly ceiling?: (scenario: Scenario, batch: number) => Promise<number> };

const targets = async (dir: string): Promise<Target[]> => {
  const list: Target[] = [{ name: 'memory', open: async () => makeMemoryEventStore() }];
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    let n = 0;
    list.push({
      name: `sqlite ${synchronous}`,
      open: () => makeSqliteEventStore({ path: join(dir, `ledger-${synchronous}-${n++}.db`), synchronous }),
      ceiling: async (scenario, batch) => sqliteCeiling(join(dir, `ceiling-${synchronous}-${n++}.db`), synchronous, scenario, batch, DURATION_MS).appendsPerSecond,
    });
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    let n = 0;
    const schema = () => `bench_${process.pid}_${n++}`;
    list.push({
      name: 'postgres',
      open: () => makePostgresEventStore({ connectionString: databaseUrl, schema: schema() }),
      ceiling: async (scenario, batch) => {
        const s = schema();
        const store = await makePostgresEventStore({ connectionString: databaseUrl, schema: s });
        await store.close();
        return (await postgresCeiling(databaseUrl, s, scenario, batch, DURATION_MS)).appendsPerSecond;
      },
    });
  } catch {
    process.stderr.write(`postgres at ${databaseUrl} does not answer: skipped\n`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return list;
};

const dropBenchSchemas = async () => {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const { rows } = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench_${process.pid}_%'`);
    for (const { nspname } of rows) await client.query(`DROP SCHEMA ${nspname} CASCADE`);
  } catch {
    // No PostgreSQL: nothing to clean.
  } finally {
    await client.end().catch(() => undefined);
  }
};

export const runLedgerCommandBench = async (): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ledger-'));
  const rows: (string | number)[][] = [];
  try {
    for (const target of await targets(dir)) {
      if (ONLY !== undefined && !ONLY.includes(target.name)) continue;
      for (const scenario of ['many', 'hot'] as const) {
        for (const callers of CALLERS) {
          const results: Record<Workload, number[]> = { deduct: [], 'reserve+settle': [], 'reserve+progress+settle': [] };
          const streams: Record<Workload, number[]> = { deduct: [], 'reserve+settle': [], 'reserve+progress+settle': [] };
          const cpuPerStream: Record<Workload, number[]> = { deduct: [], 'reserve+settle': [], 'reserve+progress+settle': [] };
          const ceilings: number[] = [];
          for (let run = 0; run < RUNS; run++) {
            const store = await target.open();
            const ledger = makeLedger({ store, clock: systemClock, ids: systemIds });
            const accounts = await prepare(ledger, scenario);
            // Warm every path first, then rotate the order per run so no workload always runs on the warmest JIT.
            if (run === 0) for (const workload of WORKLOADS) await load(ledger, accounts, workload, callers, DURATION_MS / 4);
            for (const workload of WORKLOADS.map((_, i) => WORKLOADS[(i + run) % WORKLOADS.length] as Workload)) {
              const rate = await load(ledger, accounts, workload, callers);
              results[workload].push(rate.commands);
              streams[workload].push(rate.streams);
              cpuPerStream[workload].push(rate.cpuUsPerStream);
            }
            await store.close();
            if (target.ceiling !== undefined) ceilings.push(await target.ceiling(scenario, callers));
          }
          const ceiling = ceilings.length > 0 ? median(ceilings) : undefined;
          const d = median(results.deduct);
          const rs = median(results['reserve+settle']);
          const rps = median(results['reserve+progress+settle']);
          const withProgress = median(streams['reserve+progress+settle']) / median(streams['reserve+settle']);
          const ratio = (v: number) => (ceiling === undefined ? 'n/a' : `${Math.round((v / ceiling) * 100)}%`);
          const cpuRs = median(cpuPerStream['reserve+settle']);
          const cpuRps = median(cpuPerStream['reserve+progress+settle']);
          rows.push([
            target.name,
            scenario,
            callers,
            fmt(d),
            ratio(d),
            fmt(rs),
            ratio(rs),
            fmt(rps),
            `${Math.round(withProgress * 100)}%`,
            `${fmt(cpuRs)} / ${fmt(cpuRps)} (${Math.round((cpuRs / cpuRps) * 100)}%)`,
            ceiling === undefined ? 'n/a' : fmt(ceiling),
          ]);
          process.stderr.write(`${rows[rows.length - 1]?.join(' | ')}\n`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dropBenchSchemas();
  }
  return [
    `### Ledger commands/s (median of ${RUNS} runs of ${DURATION_MS} ms)`,
    '',
    `Machine: ${machine()}. "many" spreads callers over ${ACCOUNTS} accounts; "hot" puts every caller on one account. One command = one appended event. "r+p+s" is a stream whose hold records its progress once (a 5-10 s stream at HOLD_PROGRESS_MS = 5 s); "streams/s with progress" is its streams/s as a share of reserve+settle's, measured in the same run.`,
    '',
    table(
      ['store', 'scenario', 'callers', 'deduct cmd/s', 'deduct / ceiling', 'reserve+settle cmd/s', 'r+s / ceiling', 'r+p+s cmd/s', 'streams/s with progress / without', 'CPU us per stream: r+s / r+p+s (streams per CPU-second with progress / without)', 'ceiling: raw batched inserts/s (batch = callers)'],
      rows,
    ),
  ].join('\n');
};

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runLedgerCommandBench());
}
