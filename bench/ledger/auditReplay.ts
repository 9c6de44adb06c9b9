import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLedger } from '../../application/audit.js';
import { sealEvents } from '../../application/integrity.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import { makeMemoryEventStore } from '../../adapters/eventstore/memory/memoryEventStore.js';
import { makeSqliteEventStore } from '../../adapters/eventstore/sqlite/index.js';
import type { CreditAccountEvent } from '../../domain/creditAccount/index.js';
import { fmt, machine, median, table } from '../shared.js';

/**
 * Audit replay rate: `ledger audit`'s work (hash recomputation, chain and
 * invariant checks) over N events, against the ceiling of merely reading the
 * same events from the same store in global order.
 */
const EVENTS = Number(process.env['AUDIT_EVENTS'] ?? 1_000_000);
const PER_ACCOUNT = 100;
const RUNS = Number(process.env['RUNS'] ?? 3);

const accountHistory = (n: number): CreditAccountEvent[] => {
  const at = 1_700_000_000_000;
  const events: CreditAccountEvent[] = [
    { type: 'AccountOpened', data: { accountId: `acct${n}`, at } },
    { type: 'CreditsGranted', data: { grantId: 'g', amount: 1_000_000, at } },
  ];
  for (let i = 0; events.length < PER_ACCOUNT; i++) {
    const reservationId = `r${i}`;
    events.push({ type: 'CreditsReserved', data: { reservationId, amount: 500, expiresAt: at + 60_000, at, purpose: { service: 'llm', model: 'gpt-4o' } } });
    events.push({ type: 'ReservationSettled', data: { reservationId, charged: 120, released: 380, usage: { provider: 'openai', model: 'gpt-4o', inputTokens: 40, outputTokens: 110 }, priceSheetVersion: 'v1', at } });
  }
  return events.slice(0, PER_ACCOUNT);
};

export const populate = async (store: EventStore, events: number) => {
  const accounts = Math.ceil(events / PER_ACCOUNT);
  const pending: Promise<unknown>[] = [];
  for (let n = 0; n < accounts; n++) {
    const name = `account-acct${n}`;
    const { sealed } = sealEvents(name, 0, '', accountHistory(n), 1_700_000_000_000);
    pending.push(store.appendToStream(name, sealed, 'no_stream')());
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
};

const time = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

const measure = async (label: string, store: EventStore) => {
  await populate(store, EVENTS);
  const auditMs: number[] = [];
  const readMs: number[] = [];
  let violations = 0;
  for (let run = 0; run < RUNS; run++) {
    readMs.push(await time(async () => {
      let n = 0;
      for await (const _ of store.readAll()) n++;
      if (n !== EVENTS) throw new Error(`read ${n} events, expected ${EVENTS}`);
    }));
    auditMs.push(await time(async () => {
      const report = await auditLedger(store);
      violations += report.violations.length;
    }));
  }
  if (violations > 0) throw new Error(`audit found ${violations} violations in generated data`);
  const auditRate = (EVENTS * 1000) / median(auditMs);
  const readRate = (EVENTS * 1000) / median(readMs);
  return [label, fmt(auditRate), fmt(readRate), `${((auditRate / readRate) * 100).toFixed(0)}%`] as const;
};

export const runAuditBench = async (): Promise<string> => {
  const rows = [];
  rows.push(await measure('memory', makeMemoryEventStore()));
  const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  try {
    const sqlite = await makeSqliteEventStore({ path: join(dir, 'ledger.db'), synchronous: 'NORMAL' });
    rows.push(await measure('sqlite', sqlite));
    await sqlite.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    `### Audit replay (${EVENTS.toLocaleString('en-US')} events, ${PER_ACCOUNT} per account, median of ${RUNS})`,
    '',
    `Machine: ${machine()}`,
    '',
    table(['store', 'audit events/s (hash + chain + invariants)', 'ceiling: plain readAll events/s', 'audit / ceiling'], rows),
  ].join('\n');
};

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runAuditBench());
}
