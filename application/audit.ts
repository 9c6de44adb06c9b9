import { createHash } from 'node:crypto';
import { ACCOUNT_STREAM_PREFIX } from '../domain/creditAccount/index.js';
import type { CreditAccountEvent } from '../domain/creditAccount/index.js';
import { decodeAccountEvent } from './credits/ledger.js';
import type { ChainBreak } from './integrity.js';
import { recomputeHash, verifyLink } from './integrity.js';
import type { EventStore } from './ports/eventStore.js';

/**
 * The auditor's replay. It streams the whole ledger once in global order and
 * keeps, per stream, only its head (revision + hash) and, per account, a few
 * numbers and the set of open holds: memory grows with the number of streams
 * and open holds, never with the number of events.
 *
 * It checks every hash link, that every account event decodes, and the money
 * invariants after every event: balance >= 0, open holds <= balance, a hold
 * resolves at most once and never for more than it held, and
 * granted - deducted - charged + refunded - expired = balance.
 *
 * The digest is SHA-256 over the sorted (stream, last revision, last hash)
 * heads, using hashes recomputed from content (never the stored ones). Each
 * head hash commits to its whole stream, so the digest changes if
 * any event anywhere changes, and it does not depend on how a store
 * interleaves streams in its global order.
 */
export type Violation =
  | ChainBreak
  | { readonly _tag: 'UndecodableEvent'; readonly streamName: string; readonly revision: number; readonly type: string }
  | { readonly _tag: 'InvariantBroken'; readonly streamName: string; readonly revision: number; readonly rule: string };

type AccountTally = {
  balance: number;
  held: number;
  granted: number;
  spent: number;
  refunded: number;
  expired: number;
  holds: Map<string, number>;
};

export type AuditReport = {
  readonly events: number;
  readonly streams: number;
  readonly accounts: readonly { readonly accountId: string; readonly balance: number; readonly held: number }[];
  readonly violations: readonly Violation[];
  readonly digest: string;
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
  readonly at?: number;
};

const applyToTally = (t: AccountTally, e: CreditAccountEvent): string | undefined => {
  switch (e.type) {
    case 'AccountOpened':
      return undefined;
    case 'CreditsGranted':
      t.balance += e.data.amount;
      t.granted += e.data.amount;
      return undefined;
    case 'GrantExpired':
      t.balance -= e.data.amount;
      t.expired += e.data.amount;
      return undefined;
    case 'CreditsDeducted':
      t.balance -= e.data.amount;
      t.spent += e.data.amount;
      return undefined;
    case 'DeductionRefunded':
      t.balance += e.data.amount;
      t.refunded += e.data.amount;
      return undefined;
    case 'CreditsReserved':
      if (t.holds.has(e.data.reservationId)) return 'reservation id reused while open';
      t.holds.set(e.data.reservationId, e.data.amount);
      t.held += e.data.amount;
      return undefined;
    case 'ReservationProgressed': {
      const hold = t.holds.get(e.data.reservationId);
      if (hold === undefined) return 'progress on a hold that is not open';
      if (e.data.charged > hold) return 'progress charge exceeds hold';
      return undefined;
    }
    case 'ReservationSettled':
    case 'ReservationReleased':
    case 'ReservationExpired': {
      const id = e.data.reservationId;
      const hold = t.holds.get(id);
      // Resolved ids are not remembered (memory stays bounded): a second resolution looks like one without a hold.
      if (hold === undefined) return 'hold resolved twice or without reservation';
      const amount = e.type === 'ReservationSettled' ? e.data.charged + e.data.released : e.data.amount;
      if (amount !== hold) return 'resolution amount differs from hold';
      const charged = e.type === 'ReservationSettled' ? e.data.charged : e.type === 'ReservationExpired' ? (e.data.charged ?? 0) : 0;
      if (charged > hold) return 'charge exceeds hold';
      t.balance -= charged;
      t.spent += charged;
      t.holds.delete(id);
      t.held -= hold;
      return undefined;
    }
  }
};

const checkTally = (t: AccountTally): string | undefined => {
  if (t.balance < 0) return 'balance below zero';
  if (t.held > t.balance) return 'open holds exceed balance';
  if (t.granted - t.spent + t.refunded - t.expired !== t.balance) return 'conservation (granted - spent + refunded - expired != balance)';
  return undefined;
};

export const auditLedger = async (
  store: EventStore,
  options: { readonly at?: number; readonly onProgress?: (events: number) => void; readonly now?: () => number; readonly maxViolations?: number } = {},
): Promise<AuditReport> => {
  const now = options.now ?? (() => 0);
  const started = now();
  const heads = new Map<string, { revision: number; hash: string }>();
  const tallies = new Map<string, AccountTally>();
  const violations: Violation[] = [];
  const maxViolations = options.maxViolations ?? 1000;
  const report = (v: Violation) => {
    if (violations.length < maxViolations) violations.push(v);
  };
  let events = 0;
  for await (const recorded of store.readAll()) {
    events++;
    if (options.onProgress !== undefined && events % 10_000 === 0) options.onProgress(events);
    const recomputed = recomputeHash(recorded);
    const brk = verifyLink(recorded, heads.get(recorded.streamName), recomputed);
    if (brk !== undefined) report(brk);
    heads.set(recorded.streamName, { revision: recorded.revision, hash: recomputed });
    if (!recorded.streamName.startsWith(ACCOUNT_STREAM_PREFIX)) continue;
    const event = decodeAccountEvent(recorded);
    if (event === undefined) {
      report({ _tag: 'UndecodableEvent', streamName: recorded.streamName, revision: recorded.revision, type: recorded.type });
      continue;
    }
    if (options.at !== undefined && event.data.at > options.at) continue;
    const accountId = recorded.streamName.slice(ACCOUNT_STREAM_PREFIX.length);
    let tally = tallies.get(accountId);
    if (tally === undefined) {
      tally = { balance: 0, held: 0, granted: 0, spent: 0, refunded: 0, expired: 0, holds: new Map() };
      tallies.set(accountId, tally);
    }
    const broken = applyToTally(tally, event) ?? checkTally(tally);
    if (broken !== undefined) report({ _tag: 'InvariantBroken', streamName: recorded.streamName, revision: recorded.revision, rule: broken });
  }
  options.onProgress?.(events);
  const digest = createHash('sha256');
  for (const name of [...heads.keys()].sort()) {
    const head = heads.get(name) as { revision: number; hash: string };
    digest.update(`${name}\n${head.revision}\n${head.hash}\n`);
  }
  const elapsedMs = Math.max(now() - started, 0);
  const accounts = [...tallies.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([accountId, t]) => ({ accountId, balance: t.balance, held: t.held }));
  return {
    events,
    streams: heads.size,
    accounts,
    violations,
    digest: digest.digest('hex'),
    elapsedMs,
    eventsPerSecond: elapsedMs > 0 ? Math.round((events * 1000) / elapsedMs) : events,
    ...(options.at === undefined ? {} : { at: options.at }),
  };
};
