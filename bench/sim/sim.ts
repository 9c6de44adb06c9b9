import { parseArgs } from 'node:util';
import { postgresBinaries, startPostgresInstance, type PostgresInstance } from '../../test/support/postgresInstance.js';
import { runSeed, type SeedResult } from '../../test/sim/runSeed.js';
import { SCENARIOS, type ScenarioName } from '../../test/sim/scenario.js';
import { describeFailures, summarize, summaryLine } from '../../test/sim/summary.js';

/**
 * Many seeds of the many-writer simulation, one after the other:
 *   npm run sim -- --seeds 100 --size small [--store sqlite|postgres|both] [--from SEED]
 *   SIM_SEED=1234 SIM_STORE=postgres npm run sim        (replays one seed)
 * Needs `npm run build` first (it runs the compiled service and the ledger binary).
 * Exit code 1 when any seed fails an invariant.
 */
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    size: { type: 'string', default: 'small' },
    store: { type: 'string', default: 'both' },
    from: { type: 'string' },
    keep: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

const size = values.size as ScenarioName;
const scenario = SCENARIOS[size];
if (scenario === undefined) throw new Error(`--size must be one of ${Object.keys(SCENARIOS).join(', ')}`);
const replay = process.env['SIM_SEED'];
const storeArg = process.env['SIM_STORE'] ?? values.store;
const stores = storeArg === 'both' ? (['sqlite', 'postgres'] as const) : ([storeArg] as ('sqlite' | 'postgres')[]);
const first = replay !== undefined ? Number(replay) : values.from !== undefined ? Number(values.from) : Math.floor(Math.random() * 2 ** 31);
const count = replay !== undefined ? 1 : Number(values.seeds);

let server: PostgresInstance | undefined;
if (stores.includes('postgres')) {
  if (postgresBinaries() === undefined) throw new Error('PostgreSQL binaries not found: run with --store sqlite');
  server = await startPostgresInstance();
}
const results: SeedResult[] = [];
const log = values.quiet ? undefined : (line: string) => process.stdout.write(`${line}\n`);
try {
  for (let i = 0; i < count; i += 1) {
    const seed = (first + i) >>> 0;
    for (const kind of stores) {
      const result = await runSeed(seed, scenario, kind === 'sqlite' ? { kind } : { kind, server: server as PostgresInstance }, { keepDir: values.keep, ...(log ? { log } : {}) });
      results.push(result);
      process.stdout.write(`seed ${seed} ${kind}: ${result.findings.length} finding(s), ${result.operations.streams} streams, ${result.kills} kill(s), ${result.outages} outage(s), ${Math.round(result.elapsedMs / 1000)} s\n`);
      for (const line of describeFailures(result)) process.stdout.write(`${line}\n`);
    }
  }
} finally {
  await server?.destroy();
}
process.stdout.write(`${summaryLine(summarize(results))}\n`);
process.exitCode = results.some((r) => r.findings.length > 0 || r.uncleanStops.length > 0) ? 1 : 0;
