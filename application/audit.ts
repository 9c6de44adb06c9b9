import { ACCOUNT_STREAM_PREFIX } from '../domain/creditAccount/index.js';
import type { MoneyTally } from './auditMoneyRules.js';
import { applyMoneyRules, finalMoneyRules, newMoneyTally, tallyBalances } from './auditMoneyRules.js';
import { decodeAccountEvent } from './credits/ledger.js';
import type { ChainBreak } from './integrity.js';
import { verifyLink } from './integrity.js';
import { eventHashes } from './merkle/eventLeaf.js';
import { makeHashCursor, type HashCursor } from './merkle/hashCursor.js';
import { toHex, type Hash } from './merkle/hashing.js';
import { makeMerkleTree } from './merkle/tree.js';
import type { EventStore, RecordedEvent } from './ports/eventStore.js';
import type { HashedReads } from './ports/hashedReads.js';

/**
 * The auditor's replay. It streams the whole ledger once in global order and
 * keeps, per stream, only its head (revision + hash) and, per account, a few
 * numbers and the set of open holds: memory grows with the number of streams
 * and open holds, never with the number of events.
 *
 * It checks every hash link, that every account event decodes, and every
 * rule of money after every event (auditMoneyRules.ts).
 *
 * The digest is the RFC 9162 Merkle root of the global order it read (see
 * application/merkle), computed from content. With `at`, the audit reads the
 * prefix of the global order the store committed at or before that instant
 * (by the store's commit time, never a writer's clock) and the digest is
 * that prefix's root: later appends never change it, so a digest printed
 * today can be checked against the log of any later day (a consistency
 * proof from `size` to today's size, see `ledger verify`).
 *
 * Positions must follow each other without gaps in stores that promise it
 * (memory, SQLite, PostgreSQL); EventStoreDB positions are byte offsets in
 * its transaction log, opaque and gappy by design, so there the check is
 * only that they increase.
 *
 * With `hashedReads` (a store that can hash in a worker thread, SQLite) the
 * leaf and chain hashes of each event come from that thread, a range of
 * 10,000 events ahead of this loop, and this thread keeps only the tree's
 * interior nodes, the links and the money rules; the hashes are the same
 * bytes either way (hashKernel.ts). An event the ranges do not hold is
 * hashed here.
 */
export type Violation =
  | ChainBreak
  | { readonly _tag: 'UndecodableEvent'; readonly streamName: string; readonly revision: number; readonly type: string }
  | { readonly _tag: 'InvariantBroken'; readonly streamName: string; readonly revision: number; readonly rule: string }
  | { readonly _tag: 'PositionGap'; readonly streamName: string; readonly revision: number; readonly position: number; readonly expected: number };

export type AuditReport = {
  readonly events: number;
  readonly streams: number;
  readonly accounts: readonly { readonly accountId: string; readonly balance: number; readonly held: number }[];
  readonly violations: readonly Violation[];
  /** Hex Merkle root of the `size` events read: the log's digest. */
  readonly digest: string;
  /** Events in the log (prefix) the digest covers. */
  readonly size: number;
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
  readonly at?: number;
};

export type AuditOptions = {
  readonly at?: number;
  readonly onProgress?: (events: number) => void;
  readonly now?: () => number;
  readonly maxViolations?: number;
  readonly hashedReads?: HashedReads;
};

/** Events per range asked of a hashing thread, and ranges kept in flight ahead of the replay. */
const HASH_RANGE = 10_000;
const HASH_DEPTH = 2;

const hashesOf = async (recorded: RecordedEvent, cursor: HashCursor | undefined): Promise<{ readonly leaf: Hash; readonly chain: string }> => {
  const hashed = cursor === undefined ? undefined : await cursor.at(recorded.position);
  return hashed?.chain === undefined ? eventHashes(recorded) : { leaf: hashed.leaf, chain: toHex(hashed.chain) };
};

type Tally = MoneyTally & { lastRevision: number };

/** The money rules for one event of an account stream (nothing for other streams). */
const checkMoney = (recorded: RecordedEvent, tallies: Map<string, Tally>, report: (v: Violation) => void): void => {
  if (!recorded.streamName.startsWith(ACCOUNT_STREAM_PREFIX)) return;
  const event = decodeAccountEvent(recorded);
  if (event === undefined) {
    report({ _tag: 'UndecodableEvent', streamName: recorded.streamName, revision: recorded.revision, type: recorded.type });
    return;
  }
  const accountId = recorded.streamName.slice(ACCOUNT_STREAM_PREFIX.length);
  let tally = tallies.get(accountId);
  if (tally === undefined) {
    tally = { ...newMoneyTally(), lastRevision: 0 };
    tallies.set(accountId, tally);
  }
  tally.lastRevision = recorded.revision;
  for (const rule of applyMoneyRules(tally, event)) report({ _tag: 'InvariantBroken', streamName: recorded.streamName, revision: recorded.revision, rule });
};

export const auditLedger = async (store: EventStore, options: AuditOptions = {}): Promise<AuditReport> => {
  const now = options.now ?? (() => 0);
  const started = now();
  const heads = new Map<string, { revision: number; hash: string }>();
  const tallies = new Map<string, Tally>();
  const violations: Violation[] = [];
  const maxViolations = options.maxViolations ?? 1000;
  const report = (v: Violation) => {
    if (violations.length < maxViolations) violations.push(v);
  };
  const tree = makeMerkleTree();
  const gapless = store.kind !== 'esdb';
  let events = 0;
  let lastPosition = -1;
  const cursor = options.hashedReads === undefined ? undefined : makeHashCursor(options.hashedReads, { rangeSize: HASH_RANGE, depth: HASH_DEPTH, withChain: true });
  try {
    for await (const recorded of store.readAll()) {
      // The history at T is the prefix of the global order committed at or before T.
      if (options.at !== undefined && recorded.committedAt > options.at) break;
      if (gapless ? recorded.position !== events : recorded.position <= lastPosition) {
        report({ _tag: 'PositionGap', streamName: recorded.streamName, revision: recorded.revision, position: recorded.position, expected: gapless ? events : lastPosition + 1 });
      }
      lastPosition = recorded.position;
      events++;
      if (options.onProgress !== undefined && events % 10_000 === 0) options.onProgress(events);
      const { leaf, chain: recomputed } = await hashesOf(recorded, cursor);
      tree.append(leaf);
      const brk = verifyLink(recorded, heads.get(recorded.streamName), recomputed);
      if (brk !== undefined) report(brk);
      heads.set(recorded.streamName, { revision: recorded.revision, hash: recomputed });
      checkMoney(recorded, tallies, report);
    }
  } finally {
    await cursor?.close();
  }
  for (const [accountId, tally] of tallies) {
    for (const rule of finalMoneyRules(tally)) report({ _tag: 'InvariantBroken', streamName: `${ACCOUNT_STREAM_PREFIX}${accountId}`, revision: tally.lastRevision, rule });
  }
  options.onProgress?.(events);
  const elapsedMs = Math.max(now() - started, 0);
  const accounts = [...tallies.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([accountId, t]) => ({ accountId, ...tallyBalances(t) }));
  return {
    events,
    streams: heads.size,
    accounts,
    violations,
    digest: toHex(tree.root()),
    size: events,
    elapsedMs,
    eventsPerSecond: elapsedMs > 0 ? Math.round((events * 1000) / elapsedMs) : events,
    ...(options.at === undefined ? {} : { at: options.at }),
  };
};
