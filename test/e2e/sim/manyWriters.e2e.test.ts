import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postgresBinaries, startPostgresInstance, type PostgresInstance } from '../../support/postgresInstance.js';
import { runSeed, type SeedResult } from '../../sim/runSeed.js';
import { SCENARIOS } from '../../sim/scenario.js';
import { describeFailures, summarize, summaryLine } from '../../sim/summary.js';

/**
 * The many-writer simulation at CI size (issue 10): three compiled service
 * processes and the ledger CLI on one store, random streams, deducts, grants
 * with expiry, a SIGKILL and a store outage, then the invariants over the
 * whole history. A failure prints its seed; `SIM_SEED=<seed> SIM_STORE=<store>
 * npm run sim` replays it. SIM_SEEDS (default 1) sets how many seeds run per
 * store. PostgreSQL is our own server (initdb + pg_ctl), never skipped under CI=true.
 * Needs `npm run build`.
 */
// A fixed seed in `npm test` (its schedule replays; timing between processes still varies), a random one
// with SIM_RANDOM=1; many seeds from `npm run sim -- --seeds N`.
const PINNED_SEED = 1228757644;
const first =
  process.env['SIM_SEED'] !== undefined ? Number(process.env['SIM_SEED']) : process.env['SIM_RANDOM'] === '1' ? Math.floor(Math.random() * 2 ** 31) : PINNED_SEED;
const seeds = Array.from({ length: Number(process.env['SIM_SEEDS'] ?? '1') }, (_, i) => (first + i) >>> 0);
const scenario = SCENARIOS.ci;
const perSeedMs = 300_000;

const report = (results: readonly SeedResult[]) => {
  const lines = [summaryLine(summarize(results)), ...results.flatMap(describeFailures)];
  process.stdout.write(`${lines.join('\n')}\n`);
  return lines.join('\n');
};

describe('many-writer simulation on SQLite', () => {
  it.each(seeds)('seed %i keeps every invariant', async (seed) => {
    const result = await runSeed(seed, scenario, { kind: 'sqlite' });
    expect({ seed, failures: describeFailures(result) }).toEqual({ seed, failures: [] });
    report([result]);
  }, perSeedMs);
});

const havePostgres = postgresBinaries() !== undefined;
if (!havePostgres && process.env['CI'] === 'true') throw new Error('PostgreSQL binaries are missing but CI=true: the PostgreSQL simulation may not be skipped in CI');
if (!havePostgres) process.stderr.write('[skipped] many-writer simulation on PostgreSQL: no PostgreSQL binaries under /usr/lib/postgresql\n');

(havePostgres ? describe : describe.skip)('many-writer simulation on PostgreSQL', () => {
  let server: PostgresInstance;
  beforeAll(async () => {
    server = await startPostgresInstance();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  }, 60_000);

  it.each(seeds)('seed %i keeps every invariant', async (seed) => {
    const result = await runSeed(seed, scenario, { kind: 'postgres', server });
    expect({ seed, failures: describeFailures(result) }).toEqual({ seed, failures: [] });
    report([result]);
  }, perSeedMs);
});
