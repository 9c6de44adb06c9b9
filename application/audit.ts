import { createHash } from 'node:crypto';
import { ACCOUNT_STREAM_PREFIX } from '../domain/creditAccount/index.js';
import type { MoneyTally } from './auditMoneyRules.js';
import { applyMoneyRules, finalMoneyRules, newMoneyTally, tallyBalances } from './auditMoneyRules.js';
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
 * It checks every hash link, that every account event decodes, and every
 * rule of money after every event (auditMoneyRules.ts).
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

export const auditLedger = async (
  store: EventStore,
  options: { readonly at?: number; readonly onProgress?: (events: number) => void; readonly now?: () => number; readonly maxViolations?: number } = {},
): Promise<AuditReport> => {
  const now = options.now ?? (() => 0);
  const started = now();
  const heads = new Map<string, { revision: number; hash: string }>();
  const tallies = new Map<string, MoneyTally & { lastRevision: number }>();
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
      tally = { ...newMoneyTally(), lastRevision: 0 };
      tallies.set(accountId, tally);
    }
    tally.lastRevision = recorded.revision;
    for (const rule of applyMoneyRules(tally, event)) report({ _tag: 'InvariantBroken', streamName: recorded.streamName, revision: recorded.revision, rule });
  }
  for (const [accountId, tally] of tallies) {
    for (const rule of finalMoneyRules(tally)) report({ _tag: 'InvariantBroken', streamName: `${ACCOUNT_STREAM_PREFIX}${accountId}`, revision: tally.lastRevision, rule });
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
    .map(([accountId, t]) => ({ accountId, ...tallyBalances(t) }));
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
