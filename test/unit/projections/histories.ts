import fc from 'fast-check';
import type { NewEvent, RecordedEvent } from '../../../application/ports/eventStore.js';
import type { UsageRow } from '../../../application/projections/usage.js';

/**
 * Random ledger histories for the projection's property tests, and an
 * oracle that recomputes usage from a whole history by brute force (it looks
 * each settle's hold up by scanning back), written independently of the fold.
 */
const DAY_MS = 86_400_000;
const START = Date.UTC(2026, 10, 28);

type Step =
  | { kind: 'reserve'; account: number; service: string; provider: string; model: string; amount: number; apiKey: number; day: number }
  | { kind: 'settle' | 'release' | 'expire'; pick: number; charged: number; tokens: number; seconds: number; stop: boolean; ended?: 'completed' | 'stopped' | 'failed' | undefined; day: number }
  | { kind: 'deduct'; account: number; service: string; amount: number; day: number }
  | { kind: 'refund' | 'refundSettlement'; pick: number; amount: number; day: number }
  | { kind: 'progress'; pick: number; charged: number; day: number }
  | { kind: 'other'; account: number; day: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('reserve' as const),
    account: fc.nat(3),
    service: fc.constantFrom('llm', 'sora2'),
    provider: fc.constantFrom('openai', 'claude'),
    model: fc.constantFrom('gpt-4o', 'claude-3', 'sora-2'),
    amount: fc.integer({ min: 1, max: 1000 }),
    apiKey: fc.nat(2),
    day: fc.nat(3),
  }),
  fc.record({
    kind: fc.constantFrom('settle' as const, 'release' as const, 'expire' as const),
    pick: fc.nat(),
    charged: fc.nat(1000),
    tokens: fc.nat(5000),
    seconds: fc.nat(20),
    stop: fc.boolean(),
    /** How a settled stream ended; undefined = a settle written before settles said (read as completed). */
    ended: fc.constantFrom(undefined, 'completed' as const, 'stopped' as const, 'failed' as const),
    day: fc.nat(3),
  }),
  fc.record({ kind: fc.constant('deduct' as const), account: fc.nat(3), service: fc.constantFrom('sora2', 'llm', 'misc'), amount: fc.integer({ min: 1, max: 500 }), day: fc.nat(3) }),
  fc.record({ kind: fc.constantFrom('refund' as const, 'refundSettlement' as const), pick: fc.nat(), amount: fc.integer({ min: 1, max: 100 }), day: fc.nat(3) }),
  fc.record({ kind: fc.constant('progress' as const), pick: fc.nat(), charged: fc.nat(100), day: fc.nat(3) }),
  fc.record({ kind: fc.constant('other' as const), account: fc.nat(3), day: fc.nat(3) }),
);

const meta = (at: number) => ({ hash: 'h', prevHash: '', recordedAt: at });

/** Turns random steps into a valid sequence of [stream, event] (settles only name open holds). */
export const buildHistory = (steps: readonly Step[]): { stream: string; event: NewEvent }[] => {
  const open: { account: string; id: string; amount: number }[] = [];
  const deductions: { account: string; id: string }[] = [];
  const chargedHolds: { account: string; id: string }[] = [];
  const out: { stream: string; event: NewEvent }[] = [];
  let n = 0;
  for (const s of steps) {
    n += 1;
    const at = START + s.day * DAY_MS + n;
    const push = (account: string, type: string, data: NewEvent['data']) => out.push({ stream: `account-${account}`, event: { type, data: { ...data, at }, metadata: meta(at) } });
    if (s.kind === 'reserve') {
      const account = `u${s.account}`;
      const id = `res-${n}`;
      open.push({ account, id, amount: s.amount });
      push(account, 'CreditsReserved', {
        reservationId: id,
        amount: s.amount,
        expiresAt: at + 60_000,
        purpose: { service: s.service, provider: s.provider, model: s.model, requestId: `q${n}`, ...(s.apiKey === 0 ? {} : { apiKeyId: `k${s.apiKey}` }) },
      });
    } else if (s.kind === 'settle' || s.kind === 'release' || s.kind === 'expire') {
      if (open.length === 0) continue;
      const [hold] = open.splice(s.pick % open.length, 1);
      if (hold === undefined) continue;
      if (s.kind === 'settle') {
        const charged = Math.min(s.charged, hold.amount);
        if (charged > 0) chargedHolds.push({ account: hold.account, id: hold.id });
        push(hold.account, 'ReservationSettled', {
          reservationId: hold.id,
          charged,
          released: hold.amount - charged,
          usage: { provider: 'p', model: 'm', inputTokens: s.tokens, outputTokens: s.tokens * 2, videoSeconds: s.seconds },
          priceSheetVersion: 'v1',
          ...(s.ended === undefined ? {} : { ended: s.ended }),
        });
      } else if (s.kind === 'release') push(hold.account, 'ReservationReleased', { reservationId: hold.id, amount: hold.amount, reason: s.stop ? 'client cancelled' : 'ProviderError' });
      else if (s.stop) push(hold.account, 'ReservationExpired', { reservationId: hold.id, amount: hold.amount });
      else {
        // An expiry after recorded progress charges what the progress said.
        const taken = Math.min(s.charged, hold.amount);
        if (taken > 0) chargedHolds.push({ account: hold.account, id: hold.id });
        push(hold.account, 'ReservationExpired', { reservationId: hold.id, amount: hold.amount, charged: taken, usage: { inputTokens: s.tokens, outputTokens: 1 }, priceSheetVersion: 'v1' });
      }
    } else if (s.kind === 'deduct') {
      const account = `u${s.account}`;
      deductions.push({ account, id: `ded-${n}` });
      push(account, 'CreditsDeducted', { deductionId: `ded-${n}`, amount: s.amount, service: s.service });
    } else if (s.kind === 'refundSettlement') {
      const h = chargedHolds[s.pick % Math.max(1, chargedHolds.length)];
      if (h !== undefined) push(h.account, 'SettlementRefunded', { refundId: `sref-${n}`, reservationId: h.id, amount: s.amount });
    } else if (s.kind === 'progress') {
      const hold = open[s.pick % Math.max(1, open.length)];
      if (hold !== undefined) push(hold.account, 'ReservationProgressed', { reservationId: hold.id, charged: Math.min(s.charged, hold.amount), usage: { inputTokens: 1, outputTokens: 1 }, priceSheetVersion: 'v1', expiresAt: at + 60_000 });
    } else if (s.kind === 'refund') {
      const d = deductions[s.pick % Math.max(1, deductions.length)];
      if (d !== undefined) push(d.account, 'DeductionRefunded', { refundId: `ref-${n}`, deductionId: d.id, amount: s.amount });
    } else if (s.kind === 'other') {
      out.push({ stream: `permissions-u${s.account}`, event: { type: 'RoleAssigned', data: { role: 'admin', at }, metadata: meta(at) } });
      push(`u${s.account}`, 'CreditsGranted', { grantId: `g${n}`, amount: 100 });
    }
  }
  return out;
};

export const historyArb = fc.array(step, { minLength: 0, maxLength: 120 }).map(buildHistory);

/** Records a history as a store would: gapless positions from 0, revisions per stream. */
export const recorded = (history: readonly { stream: string; event: NewEvent }[]): RecordedEvent[] => {
  const revisions = new Map<string, number>();
  return history.map(({ stream, event }, position) => {
    const revision = revisions.get(stream) ?? 0;
    revisions.set(stream, revision + 1);
    return { ...event, streamName: stream, revision, position, committedAt: event.metadata.recordedAt };
  });
};

const zero = { requests: 0, completed: 0, stopped: 0, failed: 0, inputTokens: 0, outputTokens: 0, videoSeconds: 0, creditsHeld: 0, creditsCharged: 0, creditsRefunded: 0 };

/** The oracle: every row recomputed from the whole history, sorted by key. */
export const recompute = (events: readonly RecordedEvent[]): UsageRow[] => {
  const rows = new Map<string, UsageRow>();
  const add = (e: RecordedEvent, origin: RecordedEvent, counts: { readonly [K in keyof typeof zero]?: number | undefined }) => {
    const d = origin.data as Record<string, unknown>;
    const purpose = (d['purpose'] ?? {}) as Record<string, string | undefined>;
    const raw = origin.type === 'CreditsReserved' ? purpose['service'] : (d['service'] as string);
    const key = {
      day: new Date(e.data['at'] as number).toISOString().slice(0, 10),
      accountId: e.streamName.replace(/^account-/, ''),
      apiKeyId: purpose['apiKeyId'] ?? '',
      service: (raw === 'llm' || raw === 'sora2' ? raw : 'other') as UsageRow['service'],
      provider: purpose['provider'] ?? '',
      model: purpose['model'] ?? '',
    };
    const id = JSON.stringify(key);
    const row = rows.get(id) ?? { ...key, ...zero };
    const next = { ...row } as Record<string, unknown>;
    for (const [name, value] of Object.entries(counts)) next[name] = (row[name as keyof typeof zero] ?? 0) + (value ?? 0);
    rows.set(id, next as UsageRow);
  };
  const find = (before: number, type: string, idField: string, id: unknown, stream: string) =>
    events.slice(0, before).find((e) => e.type === type && e.streamName === stream && e.data[idField] === id) as RecordedEvent;
  events.forEach((e, i) => {
    const d = e.data as unknown as Record<string, number & string & Record<string, number>>;
    if (e.type === 'CreditsReserved') add(e, e, { requests: 1, creditsHeld: d['amount'] });
    if (e.type === 'CreditsDeducted') add(e, e, { requests: 1, completed: 1, creditsCharged: d['amount'] });
    const hold = () => find(i, 'CreditsReserved', 'reservationId', d['reservationId'], e.streamName);
    if (e.type === 'ReservationSettled') {
      const u = d['usage'] as unknown as Record<string, number>;
      const ended = (d['ended'] as string | undefined) ?? 'completed';
      add(e, hold(), { [ended]: 1, creditsCharged: d['charged'], inputTokens: u['inputTokens'], outputTokens: u['outputTokens'], videoSeconds: u['videoSeconds'] });
    }
    if (e.type === 'ReservationReleased') add(e, hold(), /cancel/.test(String(d['reason'])) ? { stopped: 1 } : { failed: 1 });
    if (e.type === 'ReservationExpired') {
      const u = (d['usage'] ?? {}) as unknown as Record<string, number>;
      add(e, hold(), { failed: 1, creditsCharged: d['charged'] ?? 0, inputTokens: u['inputTokens'] ?? 0, outputTokens: u['outputTokens'] ?? 0 });
    }
    if (e.type === 'SettlementRefunded') add(e, hold(), { creditsRefunded: d['amount'] });
    if (e.type === 'DeductionRefunded') add(e, find(i, 'CreditsDeducted', 'deductionId', d['deductionId'], e.streamName), { creditsRefunded: d['amount'] });
  });
  return sortRows([...rows.values()]);
};

export const sortRows = <T extends object>(rows: readonly T[]): T[] =>
  [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));

/** Splits a list at random cut points (the batches a runner might commit). */
export const cutsArb = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 });

export const splitBy = <T>(items: readonly T[], sizes: readonly number[]): T[][] => {
  const out: T[][] = [];
  let at = 0;
  let i = 0;
  while (at < items.length) {
    const size = sizes[i % sizes.length] ?? 1;
    out.push(items.slice(at, at + size));
    at += size;
    i += 1;
  }
  return out;
};
