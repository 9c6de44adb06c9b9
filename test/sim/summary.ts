import type { Finding } from './checks.js';
import type { SeedResult } from './runSeed.js';

/** The figures the issue asks for, over any number of seeds. */
export type Summary = {
  readonly seeds: number;
  readonly failedSeeds: readonly string[];
  readonly writers: number;
  readonly kills: number;
  readonly outages: number;
  readonly overspends: number;
  readonly freeOutputs: number;
  readonly leakedHolds: number;
  readonly duplicateCharges: number;
  readonly auditFailures: number;
  readonly crashes: number;
  readonly serverErrors: number;
  readonly other: number;
  readonly streams: number;
  readonly events: number;
  readonly meanSeedMs: number;
};

const count = (findings: readonly Finding[], kinds: readonly Finding['kind'][]) => findings.filter((f) => kinds.includes(f.kind)).length;

const OVERSPEND: Finding['kind'][] = ['negative-balance', 'negative-available', 'grant-over-expired'];
const COUNTED: Finding['kind'][] = [...OVERSPEND, 'free-output', 'leaked-hold', 'duplicate-charge', 'audit-failed', 'crash', 'server-error'];

export const summarize = (results: readonly SeedResult[]): Summary => {
  const all = results.flatMap((r) => r.findings);
  return {
    seeds: results.length,
    failedSeeds: results.filter((r) => r.findings.length > 0 || r.uncleanStops.length > 0).map((r) => `${r.store}:${r.seed}`),
    writers: Math.max(0, ...results.map((r) => r.writers)),
    kills: results.reduce((n, r) => n + r.kills, 0),
    outages: results.reduce((n, r) => n + r.outages, 0),
    overspends: count(all, OVERSPEND),
    freeOutputs: count(all, ['free-output']),
    leakedHolds: count(all, ['leaked-hold']),
    duplicateCharges: count(all, ['duplicate-charge']),
    auditFailures: count(all, ['audit-failed']),
    crashes: count(all, ['crash']),
    serverErrors: count(all, ['server-error']),
    other: all.filter((f) => !COUNTED.includes(f.kind)).length + results.reduce((n, r) => n + r.uncleanStops.length, 0),
    streams: results.reduce((n, r) => n + r.operations.streams, 0),
    events: results.reduce((n, r) => n + r.events, 0),
    meanSeedMs: results.length === 0 ? 0 : Math.round(results.reduce((n, r) => n + r.elapsedMs, 0) / results.length),
  };
};

export const summaryLine = (s: Summary): string =>
  `SIM seeds ${s.seeds}, writers ${s.writers}, kills ${s.kills}, outages ${s.outages}, overspends ${s.overspends}, free outputs ${s.freeOutputs}, ` +
  `leaked holds ${s.leakedHolds}, duplicate charges ${s.duplicateCharges}, audit failures ${s.auditFailures}, crashes ${s.crashes}, 500/INTERNAL answers ${s.serverErrors}, other findings ${s.other}; ` +
  `${s.streams} streams, ${s.events} events, ${Math.round(s.meanSeedMs / 100) / 10} s per seed` +
  (s.failedSeeds.length === 0 ? '' : `; failing seeds: ${s.failedSeeds.join(' ')}`);

/** One line per finding, with the replay command. */
export const describeFailures = (r: SeedResult): string[] => [
  ...(r.findings.length === 0 && r.uncleanStops.length === 0 ? [] : [`seed ${r.seed} on ${r.store} failed; replay: SIM_SEED=${r.seed} SIM_STORE=${r.store} npm run sim; records and logs in ${r.dir}`]),
  ...r.uncleanStops.map((u) => `  unclean stop: ${u}`),
  ...r.findings.map((f) => `  ${JSON.stringify(f)}`),
];
