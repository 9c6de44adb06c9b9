import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { AccountFold, FoldFinding, Hold } from './fold.js';
import type { Records, StreamRecord } from './workload.js';
import { CLI_SERVICE, REST_SERVICE } from './workload.js';

/**
 * The invariants, judged on the ledger's whole history against what the
 * clients saw:
 *   1. no balance (nor available credit) below zero at any point;
 *   2. every delivered output charged, within the stated bound;
 *   3. no hold open past its expiry + one sweep interval;
 *   4. `ledger audit` passes;
 *   5. no duplicate charge for a repeated Idempotency-Key (nor a CLI id).
 */

export type Bounds = {
  readonly sweepMs: number;
  /** HOLD_EXPIRY_GRACE_MS: how long a due hold waits for its owner's settle (default 0). */
  readonly holdGraceMs?: number;
  readonly progressMs: number;
  readonly progressSlackMs: number;
  /** Scheduling slack on a loaded machine, added to every time bound. */
  readonly slackMs: number;
  /** Credits per 1000 output tokens, by model (the price sheet); a stream may be served by a fallback model. */
  readonly outputPer1k: (model: string | undefined) => number;
};

export type Outage = { readonly startedAt: number; readonly endedAt: number };

export type Finding =
  | FoldFinding
  | { readonly kind: 'free-output'; readonly request: string; readonly account: string; readonly instance: string; readonly deliveredTokens: number; readonly owed: number; readonly charged: number; readonly closedBy: string; readonly killed: boolean; readonly detail: string }
  | { readonly kind: 'done-mismatch'; readonly request: string; readonly clientCharged: number; readonly ledgerCharged: number }
  | { readonly kind: 'leaked-hold'; readonly account: string; readonly reservationId: string; readonly request: string | undefined; readonly expiresAt: number; readonly closedAt: number | undefined; readonly lateByMs: number | undefined }
  | { readonly kind: 'audit-failed'; readonly detail: string }
  | { readonly kind: 'duplicate-charge'; readonly account: string; readonly id: string; readonly events: number }
  | { readonly kind: 'crash'; readonly instance: string; readonly at: number; readonly code: number | null; readonly signal: string | null }
  | { readonly kind: 'server-error'; readonly request: string; readonly instance: string; readonly detail: string }
  | { readonly kind: 'lost-write'; readonly account: string; readonly id: string; readonly detail: string };

const outputCredits = (tokens: number, per1k: number) => Math.ceil((tokens * per1k) / 1000);

const holdsByRequest = (folds: readonly AccountFold[]) => {
  const map = new Map<string, Hold[]>();
  for (const f of folds)
    for (const h of f.holds.values()) {
      if (h.requestId === undefined) continue;
      map.set(h.requestId, [...(map.get(h.requestId) ?? []), h]);
    }
  return map;
};

/**
 * Tokens the client received in the window of output that a crash may cost: the last HOLD_PROGRESS_MS
 * before the kill, and, when a store outage began before the kill, what was delivered from one progress
 * interval before the outage to its end (docs/architecture.md, the settlement bound: "plus, with a store
 * outage, the output since the last progress the store accepted"). A kill during the outage may find the
 * stream's settle still trying in the foreground (no done yet) or pending in the background: the same bound.
 */
const toleratedTokens = (rec: StreamRecord, bounds: Bounds, outages: readonly Outage[]): number => {
  const killedAt = rec.pendingKilledAt ?? rec.killedAt;
  if (killedAt === undefined) return 0;
  const margin = bounds.progressMs + bounds.progressSlackMs;
  // A chunk the client reads after the kill was sent before it (socket buffers, a busy client): the window stays open.
  const windows: (readonly [number, number])[] = rec.pendingKilledAt === undefined ? [[killedAt - margin, Number.POSITIVE_INFINITY]] : [];
  for (const o of outages) if (o.startedAt <= killedAt) windows.push([o.startedAt - margin, o.endedAt]);
  const tolerated = (t: number) => windows.some(([from, to]) => from <= t && t <= to);
  return countTokens(rec.chunks.map((c) => c.data).join('')) - countTokens(rec.chunks.filter((c) => !tolerated(c.t)).map((c) => c.data).join(''));
};

const checkDelivered = (records: Records, folds: readonly AccountFold[], bounds: Bounds, outages: readonly Outage[]): Finding[] => {
  const findings: Finding[] = [];
  const byRequest = holdsByRequest(folds);
  for (const rec of records.streams) {
    if (rec.error?.code === 'INTERNAL') findings.push({ kind: 'server-error', request: rec.id, instance: rec.instance, detail: `WebSocket error frame ${rec.error.message}` });
    if (rec.chunks.length === 0) continue;
    const delivered = countTokens(rec.chunks.map((c) => c.data).join(''));
    const holds = byRequest.get(rec.id) ?? [];
    const charged = holds.reduce((s, h) => s + (h.closed?.charged ?? 0), 0);
    const owed = outputCredits(Math.max(0, delivered - toleratedTokens(rec, bounds, outages)), bounds.outputPer1k(holds[0]?.model));
    const closedBy = holds.map((h) => h.closed?.type ?? 'open').join('+') || 'no-hold';
    if (holds.length === 0 || holds.some((h) => h.closed === undefined) || charged < owed) {
      const detail = `mode=${rec.mode} chunks=${rec.chunks.length} client=${rec.done === undefined ? `error ${rec.error?.code ?? '?'}` : `done charged ${rec.done.charged}`}`;
      findings.push({ kind: 'free-output', request: rec.id, account: rec.account, instance: rec.instance, deliveredTokens: delivered, owed, charged, closedBy, killed: rec.killedAt !== undefined || rec.pendingKilledAt !== undefined, detail });
    }
    // A pending charge announced in done, lost with its process before it could be written, is the stated bound (above).
    // The done may also reach the client just after the kill that took its pending settle (it was in the socket).
    const pending = (rec.done?.raw as { credits?: { pending?: boolean } } | undefined)?.credits?.pending === true;
    const lostPending = rec.pendingKilledAt !== undefined || (pending && rec.killedAt !== undefined);
    if (rec.done !== undefined && !lostPending && holds.length === 1 && holds[0]?.closed !== undefined && rec.done.charged !== charged)
      findings.push({ kind: 'done-mismatch', request: rec.id, clientCharged: rec.done.charged, ledgerCharged: charged });
  }
  return findings;
};

/** A hold must close by expiry + grace + one sweep interval (+ slack); an outage in that window moves the bound to its end. */
const checkHolds = (folds: readonly AccountFold[], bounds: Bounds, outages: readonly Outage[], endedAt: number): Finding[] => {
  const findings: Finding[] = [];
  for (const f of folds)
    for (const h of f.holds.values()) {
      let limit = h.expiresAt + (bounds.holdGraceMs ?? 0) + bounds.sweepMs + bounds.slackMs;
      for (const o of outages) if (o.startedAt <= limit && o.endedAt >= h.expiresAt) limit = Math.max(limit, o.endedAt + bounds.sweepMs + bounds.slackMs * 2);
      const closedAt = h.closed?.at;
      if (closedAt === undefined ? endedAt > limit : closedAt > limit)
        findings.push({
          kind: 'leaked-hold',
          account: f.account,
          reservationId: h.reservationId,
          request: h.requestId,
          expiresAt: h.expiresAt,
          closedAt,
          lateByMs: closedAt === undefined ? undefined : closedAt - (h.expiresAt + bounds.sweepMs),
        });
    }
  return findings;
};

const checkIdempotency = (records: Records, folds: readonly AccountFold[]): Finding[] => {
  const findings: Finding[] = [];
  const byKey = new Map<string, number>();
  const byId = new Map<string, number>();
  for (const f of folds)
    for (const d of f.deductions) {
      if (d.service === REST_SERVICE && d.sessionId !== undefined) byKey.set(d.sessionId, (byKey.get(d.sessionId) ?? 0) + 1);
      else byId.set(d.deductionId, (byId.get(d.deductionId) ?? 0) + 1);
    }
  for (const [id, n] of byId) if (n > 1) findings.push({ kind: 'duplicate-charge', account: '?', id, events: n });
  for (const rec of records.rest) {
    for (const a of rec.answers.filter((x) => x.status >= 500 && x.status !== 503))
      findings.push({ kind: 'server-error', request: rec.key, instance: a.instance, detail: `REST deduct answered ${a.status} (an outage must be 503 with Retry-After)` });
    const n = byKey.get(rec.key) ?? 0;
    if (n > 1) findings.push({ kind: 'duplicate-charge', account: rec.account, id: rec.key, events: n });
    if (rec.answers.some((a) => a.status === 200) && n === 0) findings.push({ kind: 'lost-write', account: rec.account, id: rec.key, detail: 'answered 200 but no deduction in the history' });
    if (rec.answers.some((a) => a.status === 402) && !rec.answers.some((a) => a.status === 200) && n > 0)
      findings.push({ kind: 'lost-write', account: rec.account, id: rec.key, detail: 'answered 402 but a deduction is in the history' });
  }
  const cliIds = new Set(folds.flatMap((f) => f.deductions.filter((d) => d.service === CLI_SERVICE).map((d) => d.deductionId)));
  const grantIds = new Set(folds.flatMap((f) => [...f.grants.keys()]));
  for (const rec of records.cli) {
    const present = rec.kind === 'cli-deduct' ? cliIds.has(rec.id) : grantIds.has(rec.id);
    if (rec.code === 0 && !present) findings.push({ kind: 'lost-write', account: rec.account, id: rec.id, detail: `${rec.kind} exited 0 but is not in the history` });
    if (rec.code === 1 && present) findings.push({ kind: 'lost-write', account: rec.account, id: rec.id, detail: `${rec.kind} was refused (exit 1) but is in the history` });
  }
  return findings;
};

export const checkAll = (input: {
  readonly records: Records;
  readonly folds: readonly AccountFold[];
  readonly bounds: Bounds;
  readonly outages: readonly Outage[];
  readonly endedAt: number;
  readonly audit: { readonly ok: boolean; readonly detail: string };
}): Finding[] => [
  ...input.folds.flatMap((f) => f.findings),
  ...checkDelivered(input.records, input.folds, input.bounds, input.outages),
  ...checkHolds(input.folds, input.bounds, input.outages, input.endedAt),
  ...(input.audit.ok ? [] : [{ kind: 'audit-failed' as const, detail: input.audit.detail }]),
  ...checkIdempotency(input.records, input.folds),
];
