import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openEventStore } from '../../adapters/eventstore/fromUrl.js';
import { openUsageReadModel } from '../../adapters/projections/fromStoreUrl.js';
import { systemClock, systemIds } from '../../adapters/system/clockAndIds.js';
import { makeLedger } from '../../application/credits/ledger.js';
import { silentLogger } from '../../application/ports/clock.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import { catchUp, makeProjectionRunner } from '../../application/projections/catchUp.js';
import { NO_POSITION } from '../../application/projections/usageReadModel.js';
import { fmt, percentile, table, numberArg } from '../shared.js';

/**
 * The usage projection: catch-up rate (events/s) on SQLite and PostgreSQL,
 * beside the ceiling of reading the same events without projecting them,
 * and the projection's lag while 100 concurrent streams go through the money
 * path (hold, then settle: the appends a WebSocket completion makes).
 *
 * Run: node --import ./test/support/swcRegister.mjs bench/projections/usageBench.ts [--events 20000] [--seconds 5]
 * PostgreSQL runs when DATABASE_URL is set (schema bench_usage_<pid>, dropped after).
 */
const arg = numberArg;
const EVENTS = arg('events', 20_000);
const SECONDS = arg('seconds', 5);
const ACCOUNTS = 100;
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-haiku-latest', 'claude-sonnet-4'];

/** One completion's appends: a hold then its settlement (and now and then a REST deduction). */
const completion = async (ledger: ReturnType<typeof makeLedger>, account: string, n: number) => {
  const reservationId = `r-${account}-${n}`;
  const model = MODELS[n % MODELS.length] as string;
  const provider = model.startsWith('claude') ? 'claude' : 'openai';
  await ledger.reserve({ accountId: account, reservationId, amount: 500, ttlMs: 600_000, purpose: { service: 'llm', provider, model, requestId: `q-${n}` } });
  await ledger.settle({ accountId: account, reservationId, charge: 120, usage: { provider, model, inputTokens: 300, outputTokens: 200 }, priceSheetVersion: 'bench' });
  if (n % 10 === 0) await ledger.deduct({ accountId: account, deductionId: `d-${account}-${n}`, amount: 30, service: 'sora2' });
};

const seed = async (store: EventStore, events: number) => {
  const ledger = makeLedger({ store, clock: systemClock, ids: systemIds });
  for (let a = 0; a < ACCOUNTS; a++) await ledger.grant({ accountId: `acct-${a}`, grantId: `g-${a}`, amount: 1_000_000_000 });
  const perAccount = Math.ceil(events / ACCOUNTS / 2.1);
  await Promise.all(
    Array.from({ length: ACCOUNTS }, async (_, a) => {
      for (let n = 0; n < perAccount; n++) await completion(ledger, `acct-${a}`, n);
    }),
  );
};

const catchUpRate = async (url: string) => {
  const store = await openEventStore(url);
  try {
    await seed(store, EVENTS);
    let read = 0;
    const readStarted = performance.now();
    for await (const _ of store.readAll()) read += 1;
    const readSeconds = (performance.now() - readStarted) / 1000;
    const model = await openUsageReadModel(url);
    await model.reset();
    const started = performance.now();
    await catchUp(store, model, NO_POSITION, { batchSize: 1000 });
    const seconds = (performance.now() - started) / 1000;
    await model.close();
    return { events: read, projectedPerSecond: read / seconds, readPerSecond: read / readSeconds };
  } finally {
    await store.close();
  }
};

/** 100 concurrent streams for SECONDS; the runner's lag is sampled every 5 ms. */
const lagUnderLoad = async (url: string) => {
  const store = await openEventStore(url);
  const model = await openUsageReadModel(url);
  await model.reset();
  const runner = makeProjectionRunner({ store, model, logger: silentLogger, now: Date.now });
  const ledger = makeLedger({ store, clock: systemClock, ids: systemIds });
  for (let a = 0; a < ACCOUNTS; a++) await ledger.grant({ accountId: `load-${a}`, grantId: `g-${a}`, amount: 1_000_000_000 });
  await runner.start();
  const lags: number[] = [];
  const lagMs: number[] = [];
  let appended = 0;
  const until = performance.now() + SECONDS * 1000;
  const sampler = setInterval(() => {
    const s = runner.status();
    lags.push(s.lagEvents);
    lagMs.push(s.lagMs);
  }, 5);
  await Promise.all(
    Array.from({ length: ACCOUNTS }, async (_, a) => {
      for (let n = 0; performance.now() < until; n++) {
        await completion(ledger, `load-${a}`, n);
        appended += n % 10 === 0 ? 3 : 2;
      }
    }),
  );
  clearInterval(sampler);
  const drainStarted = performance.now();
  for (let i = 0; i < 2000 && runner.status().lagEvents > 0; i++) await new Promise((r) => setTimeout(r, 5));
  const drainMs = performance.now() - drainStarted;
  await runner.stop();
  await model.close();
  await store.close();
  return { appendedPerSecond: appended / SECONDS, p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags), p99Ms: percentile(lagMs, 99), drainMs };
};

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usage-bench-'));
  const stores: { name: string; url: string; cleanup?: () => Promise<void> }[] = [{ name: 'sqlite', url: `sqlite:${join(dir, 'ledger.db')}` }];
  const lagStores: { name: string; url: string }[] = [{ name: 'sqlite', url: `sqlite:${join(dir, 'load.db')}` }];
  const databaseUrl = process.env['DATABASE_URL'];
  const schema = `bench_usage_${process.pid}`;
  if (databaseUrl !== undefined) {
    const sep = databaseUrl.includes('?') ? '&' : '?';
    stores.push({ name: 'postgres', url: `${databaseUrl}${sep}schema=${schema}` });
    lagStores.push({ name: 'postgres', url: `${databaseUrl}${sep}schema=${schema}_load` });
  }
  try {
    const rates: (string | number)[][] = [];
    for (const s of stores) {
      const r = await catchUpRate(s.url);
      rates.push([s.name, r.events, fmt(r.projectedPerSecond), fmt(r.readPerSecond)]);
    }
    const lags: (string | number)[][] = [];
    for (const s of lagStores) {
      const r = await lagUnderLoad(s.url);
      lags.push([s.name, fmt(r.appendedPerSecond), r.p50, r.p99, r.max, fmt(r.p99Ms), fmt(r.drainMs)]);
    }
    console.log('## Usage projection\n');
    console.log(`Catch-up from position 0 (batches of 1000, rows and checkpoint in one transaction per batch); ceiling: reading the same events without projecting them.\n`);
    console.log(table(['store', 'events', 'catch-up events/s', 'ceiling: readAll events/s'], rates));
    console.log(`\nLag while ${ACCOUNTS} concurrent streams run hold + settle (+ a deduction every 10th) for ${SECONDS} s, sampled every 5 ms.\n`);
    console.log(table(['store', 'appended events/s', 'lag p50 (events)', 'lag p99 (events)', 'lag max (events)', 'oldest unprojected p99 (ms)', 'drain after load (ms)'], lags));
    console.log(databaseUrl === undefined ? '\n(PostgreSQL skipped: DATABASE_URL not set)\n' : '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (databaseUrl !== undefined) {
      const pool = new pg.Pool({ connectionString: databaseUrl });
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.query(`DROP SCHEMA IF EXISTS ${schema}_load CASCADE`);
      await pool.end();
    }
  }
};

await main();
