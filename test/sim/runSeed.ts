import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintDevToken } from '../../adapters/auth/jwtMint.js';
import type { GatewayClient } from '../../adapters/ws/client.js';
import type { PostgresInstance } from '../support/postgresInstance.js';
import { checkAll, type Finding, type Outage } from './checks.js';
import { postgresOutage, sqliteLockOutage, type StoreOutage } from './faults.js';
import { foldAccount, type HistoryItem } from './fold.js';
import { makeRng } from './prng.js';
import { assertBuilt, ledger, makeInstance, repoRoot, type Instance } from './processes.js';
import type { Scenario } from './scenario.js';
import { OPERATION_WEIGHTS, restGrant, OPERATIONS, SIM_MODEL, type CliRecord, type Records, type StreamRecord, type WorkloadContext } from './workload.js';

/**
 * One seed of the simulation: three service processes and the CLI on one
 * store, random operations and faults for a bounded time, then, once every
 * hold has had its TTL and a sweep, a clean stop, the whole history read back
 * through the CLI and the invariants checked.
 */
export type StoreChoice = { readonly kind: 'sqlite' } | { readonly kind: 'postgres'; readonly server: PostgresInstance };

export type SeedResult = {
  readonly seed: number;
  readonly store: 'sqlite' | 'postgres';
  readonly writers: number;
  readonly kills: number;
  readonly outages: number;
  readonly operations: { readonly streams: number; readonly chunksDelivered: number; readonly restDeducts: number; readonly cli: number };
  readonly findings: readonly Finding[];
  readonly events: number;
  readonly elapsedMs: number;
  readonly uncleanStops: readonly string[];
  readonly dir: string;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const JWT_SECRET = 'sim-secret-'.padEnd(48, 'x');

const serviceEnv = (store: string, s: Scenario): Record<string, string> => ({
  EVENT_STORE: store,
  JWT_SECRET,
  PORT: '0',
  WS_PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  HOLD_TTL_MS: String(s.holdTtlMs),
  SWEEP_INTERVAL_MS: String(s.sweepMs),
  HOLD_EXPIRY_GRACE_MS: String(s.holdGraceMs),
  // Named by issue 10; a build that does not know them ignores them.
  HOLD_PROGRESS_MS: String(s.progressMs),
  STREAM_MAX_MS: String(s.streamMaxMs),
  SCRIPTED_CHUNK_DELAY_MS: String(s.chunkDelayMs),
  RATE_LIMIT_REQUESTS_PER_MIN: '100000',
  RATE_LIMIT_TOKENS_PER_MIN: '100000000',
  OPENAI_API_KEY: '',
  ANTHROPIC_API_KEY: '',
  REDIS_URL: '',
});

const outputPrices = (): ((model: string | undefined) => number) => {
  const sheet = JSON.parse(readFileSync(join(repoRoot, 'config/prices.json'), 'utf8')) as { models: Record<string, { outputPer1k: number }> };
  const fallback = sheet.models[SIM_MODEL]?.outputPer1k;
  if (fallback === undefined) throw new Error(`${SIM_MODEL} is not in config/prices.json`);
  return (model) => (model === undefined ? undefined : sheet.models[model]?.outputPer1k) ?? fallback;
};

const readHistory = async (account: string, env: Record<string, string>): Promise<HistoryItem[]> => {
  const items: HistoryItem[] = [];
  let from = 0;
  for (;;) {
    const page = await ledger(['history', account, '--from', String(from), '--limit', '1000'], env);
    if (page.code !== 0 || page.json === undefined) throw new Error(`ledger history ${account} failed (${page.code}): ${page.stderr.slice(0, 500)}`);
    items.push(...(page.json['items'] as HistoryItem[]));
    const next = page.json['nextFromRevision'];
    if (typeof next !== 'number') return items;
    from = next;
  }
};

type Faults = { kills: number; outages: Outage[] };

const scheduleFaults = (ctx: WorkloadContext, s: Scenario, outage: StoreOutage, faults: Faults, log: (line: string) => void): Promise<void>[] => {
  const { rng } = ctx;
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < s.kills; i += 1) {
    const at = rng.int(Math.floor(s.durationMs * 0.15), Math.floor(s.durationMs * 0.8));
    const restartAfter = rng.int(300, 2_000);
    const fallback = rng.int(0, ctx.instances.length - 1);
    jobs.push(
      (async () => {
        await sleep(at);
        // Mid-stream: wait (a little) for an instance with a stream that has delivered output, then kill the busiest.
        const streaming = (i: Instance) => [...(ctx.running.get(i.name) ?? [])].filter((r) => r.chunks.length > 0).length;
        for (let waited = 0; waited < 8_000 && !ctx.instances.some((i) => i.alive() && streaming(i) > 0); waited += 100) await sleep(100);
        const candidates = ctx.instances.filter((i) => i.alive());
        const victim = candidates.sort((a, b) => streaming(b) - streaming(a))[0] ?? ctx.instances[fallback];
        if (victim === undefined || !victim.alive()) return;
        const killedAt = Date.now();
        const streams = [...(ctx.running.get(victim.name) ?? [])];
        for (const rec of streams) rec.killedAt = killedAt;
        // A stream its client already left (cancel, disconnect) may still have its settle in flight: if it had
        // not answered done, the kill may have taken the settle with it (the same bound as a running stream).
        for (const rec of ctx.records.streams)
          if (rec.instance === victim.name && rec.killedAt === undefined && rec.done === undefined && rec.endedAt !== undefined) rec.killedAt = killedAt;
        const pendingSettle = (rec: StreamRecord) => (rec.done?.raw as { credits?: { pending?: boolean } } | undefined)?.credits?.pending === true;
        for (const rec of ctx.records.streams) if (rec.instance === victim.name && rec.killedAt === undefined && pendingSettle(rec)) rec.pendingKilledAt = killedAt;
        await victim.kill();
        faults.kills += 1;
        log(`SIGKILL ${victim.name} at +${killedAt - ctx.startedAt}ms with ${streams.length} stream(s) running`);
        await sleep(restartAfter);
        // As an orchestrator would: a service that refuses to start because its store is down (PostgreSQL
        // stopped for the outage) exits 1 with "cannot connect", and is started again until it comes up.
        for (let attempt = 1; ; attempt += 1) {
          try {
            await victim.start();
            break;
          } catch (error) {
            const logPath = /see (\S+)$/.exec((error as Error).message)?.[1];
            const tail = logPath === undefined ? '' : readFileSync(logPath, 'utf8').slice(-2_000);
            if (attempt >= 60 || !/cannot connect/.test(tail)) throw error;
            log(`${victim.name} refused to start (${(error as Error).message.split(';')[0]}); again in 1 s`);
            await sleep(1_000);
          }
        }
        log(`restarted ${victim.name}`);
      })(),
    );
  }
  for (let i = 0; i < s.outages; i += 1) {
    const at = rng.int(Math.floor(s.durationMs * 0.1), Math.floor(s.durationMs * 0.7));
    const length = rng.int(s.outageMs[0], s.outageMs[1]);
    jobs.push(
      (async () => {
        await sleep(at);
        const window = await outage(length);
        faults.outages.push(window);
        log(`store outage ${window.endedAt - window.startedAt}ms from +${window.startedAt - ctx.startedAt}ms`);
      })(),
    );
  }
  return jobs;
};

const runOperations = async (ctx: WorkloadContext, s: Scenario) => {
  const inFlight = new Set<Promise<void>>();
  const deadline = ctx.startedAt + s.durationMs;
  while (Date.now() < deadline) {
    // The order of operations is drawn from the seed; only their timing depends on the machine.
    const gap = ctx.rng.int(s.gapMs[0], s.gapMs[1]);
    const name = ctx.rng.weighted(OPERATION_WEIGHTS);
    await sleep(gap);
    while (inFlight.size >= s.maxInFlight) await Promise.race(inFlight);
    const op = OPERATIONS[name](ctx).catch(() => undefined);
    inFlight.add(op);
    void op.finally(() => inFlight.delete(op));
  }
  await Promise.all(inFlight);
};

export const runSeed = async (seed: number, s: Scenario, store: StoreChoice, options: { keepDir?: boolean; log?: (line: string) => void } = {}): Promise<SeedResult> => {
  assertBuilt();
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `sim-${seed}-`));
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    options.log?.(`[seed ${seed} ${store.kind}] ${line}`);
  };
  const schema = `sim_${seed}_${Date.now().toString(36)}`;
  const storeUrl = store.kind === 'sqlite' ? `sqlite:${join(dir, 'ledger.db')}` : `${store.server.url}?schema=${schema}`;
  const env = serviceEnv(storeUrl, s);
  const rng = makeRng(seed);
  const prefix = `x${seed.toString(36)}`;
  const accounts = Array.from({ length: s.accounts }, (_, i) => `${prefix}-acct${i}`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const instances: Instance[] = Array.from({ length: s.writers }, (_, i) => makeInstance(`w${i}`, env, join(dir, 'logs', `w${i}.log`)));
  const records: Records = { streams: [], rest: [], cli: [] };
  let counter = 0;
  const openClients = new Set<GatewayClient>();
  const ctx: WorkloadContext = {
    rng,
    accounts,
    tokens: {},
    instances,
    env,
    records,
    prefix,
    running: new Map<string, Set<StreamRecord>>(),
    openClients,
    next: () => (counter += 1),
    startedAt: 0,
  };
  const faults: Faults = { kills: 0, outages: [] };
  try {
    // The first instance creates the schema; the others join it while the CLI grants the starting credit.
    await (instances[0] as Instance).start();
    const tokens: Record<string, string> = {};
    const grants: CliRecord[] = [];
    for (const account of accounts) {
      // A user's HS256 token with JWT_SECRET, as `ledger token` mints it (minted here to spare a process per account).
      tokens[account] = await mintDevToken(JWT_SECRET, account, { expiresInS: 3600 });
      // Paid credit, and a promotion that expires during the run, granted by an admin through REST.
      grants.push({ kind: 'rest-grant', id: `${prefix}-paid-${account}`, account, amount: rng.int(300, 900), at: Date.now() });
      grants.push({ kind: 'rest-grant', id: `${prefix}-promo-${account}`, account, amount: rng.int(100, 400), expiresAt: Date.now() + 10_000 + rng.int(0, s.durationMs), at: Date.now() });
    }
    records.cli.push(...grants);
    const admin = `${prefix}-admin`;
    const adminToken = await mintDevToken(JWT_SECRET, admin, { expiresInS: 3600 });
    await Promise.all([
      ...instances.slice(1).map((i) => i.start()),
      (async () => {
        const assigned = await ledger(['roles', 'assign', admin, 'admin'], env);
        if (assigned.code !== 0) throw new Error(`ledger roles assign failed: ${assigned.stderr}`);
        await Promise.all(grants.map((rec) => restGrant((instances[0] as Instance).rest(), adminToken, rec)));
      })(),
    ]);
    log(`accounts ready after ${Date.now() - t0}ms`);
    Object.assign(ctx, { tokens, startedAt: Date.now() });
    const outage = store.kind === 'sqlite' ? sqliteLockOutage(join(dir, 'ledger.db')) : postgresOutage(store.server);
    const faultJobs = scheduleFaults(ctx, s, outage, faults, log);
    await runOperations(ctx, s);
    await Promise.all(faultJobs);
    log(`operations done after ${Date.now() - t0}ms`);
    // Every hold has had its TTL and one sweep (plus slack) with every instance running.
    await sleep(s.holdTtlMs + s.holdGraceMs + s.sweepMs + s.slackMs);
  } catch (error) {
    // Never leave service processes behind a failed run.
    for (const inst of instances) await inst.kill().catch(() => undefined);
    throw error;
  } finally {
    for (const client of openClients) await client.close().catch(() => undefined);
  }
  const endedAt = Date.now();
  const uncleanStops: string[] = [];
  for (const inst of instances) {
    const code = await inst.stop();
    if (code !== 0) uncleanStops.push(`${inst.name} exited ${code}`);
  }
  log(`stopped after ${Date.now() - t0}ms`);
  const [audit, ...histories] = await Promise.all([ledger(['audit'], env, 120_000), ...accounts.map((a) => readHistory(a, env))]);
  const folds = accounts.map((account, i) => foldAccount(account, histories[i] ?? []));
  log(`history read after ${Date.now() - t0}ms`);
  const auditOk = audit.code === 0 && audit.json?.['ok'] === true;
  const findings: Finding[] = checkAll({
    records,
    folds,
    bounds: { sweepMs: s.sweepMs, holdGraceMs: s.holdGraceMs, progressMs: s.progressMs, progressSlackMs: s.progressSlackMs, slackMs: s.slackMs, outputPer1k: outputPrices() },
    outages: faults.outages,
    endedAt,
    audit: { ok: auditOk, detail: auditOk ? '' : JSON.stringify(audit.json?.['violations'] ?? audit.stderr).slice(0, 2000) },
  });
  for (const inst of instances) for (const c of inst.crashes()) findings.push({ kind: 'crash', instance: inst.name, ...c });
  const result: SeedResult = {
    seed,
    store: store.kind,
    writers: s.writers,
    kills: faults.kills,
    outages: faults.outages.length,
    operations: {
      streams: records.streams.length,
      chunksDelivered: records.streams.reduce((n, r) => n + r.chunks.length, 0),
      restDeducts: records.rest.reduce((n, r) => n + r.answers.length, 0),
      cli: records.cli.length,
    },
    findings,
    events: folds.reduce((n, f) => n + f.events, 0),
    elapsedMs: Date.now() - t0,
    uncleanStops,
    dir,
  };
  const holds = folds.flatMap((f) => [...f.holds.values()].map((h) => ({ account: f.account, ...h })));
  writeFileSync(join(dir, 'result.json'), JSON.stringify({ ...result, log: lines, outageWindows: faults.outages, holds, records }, null, 1));
  if (store.kind === 'postgres') await dropSchema(store.server, schema);
  if (options.keepDir !== true && findings.length === 0 && uncleanStops.length === 0) rmSync(dir, { recursive: true, force: true });
  return result;
};

const dropSchema = async (server: PostgresInstance, schema: string) => {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
};
