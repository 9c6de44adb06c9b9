import type { Json, RecordedEvent } from '../ports/eventStore.js';

/**
 * The usage projection as a pure fold: ledger events in, additive usage rows
 * out. It reads only the CreditAccount events (the settlement carries the
 * usage, the reservation carries the purpose), so it needs no other source
 * than the history and a rebuild from position 0 gives the same rows.
 *
 * A settle, release or refund does not repeat what the hold or deduction was
 * for; the fold keeps a small "reference" per open hold and per deduction
 * (its dimensions) and asks the caller for the ones a batch needs.
 */

export const usageServices = ['llm', 'sora2', 'other'] as const;
export type UsageService = (typeof usageServices)[number];

/** The dimensions of one usage row. Missing text dimensions are ''. */
export type UsageKey = {
  readonly day: string;
  readonly accountId: string;
  readonly apiKeyId: string;
  readonly service: UsageService;
  readonly provider: string;
  readonly model: string;
};

export const usageCounters = [
  'requests',
  'completed',
  'stopped',
  'failed',
  'inputTokens',
  'outputTokens',
  'videoSeconds',
  'creditsHeld',
  'creditsCharged',
  'creditsRefunded',
] as const;
export type UsageCounter = (typeof usageCounters)[number];
export type UsageCounts = { readonly [K in UsageCounter]: number };
export type UsageRow = UsageKey & UsageCounts;

/** What a hold or a deduction was for, kept until its settle (holds) or for later refunds (deductions). */
export type UsageRef = {
  readonly apiKeyId: string;
  readonly service: UsageService;
  readonly provider: string;
  readonly model: string;
  /** Credits held (holds) or deducted (deductions). */
  readonly amount: number;
};

export type UsageBatch = {
  /** Rows to add to the stored ones, one per key. */
  readonly deltas: readonly UsageRow[];
  /** References created in this batch and still live at its end. */
  readonly put: readonly (readonly [string, UsageRef])[];
  /** Stored references this batch ended. */
  readonly drop: readonly string[];
  /** Global position of the last event of the batch. */
  readonly position: number;
};

export const zeroCounts: UsageCounts = {
  requests: 0,
  completed: 0,
  stopped: 0,
  failed: 0,
  inputTokens: 0,
  outputTokens: 0,
  videoSeconds: 0,
  creditsHeld: 0,
  creditsCharged: 0,
  creditsRefunded: 0,
};

const ACCOUNT_PREFIX = 'account-';

const dayOf = (at: number): string => new Date(at).toISOString().slice(0, 10);

export const serviceOf = (raw: unknown): UsageService => (raw === 'llm' || raw === 'sora2' ? raw : 'other');

const text = (value: Json | undefined): string => (typeof value === 'string' ? value : '');
const num = (value: Json | undefined): number => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0);
const obj = (value: Json | undefined): { readonly [key: string]: Json } =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { readonly [key: string]: Json }) : {};

export const holdRef = (accountId: string, reservationId: string): string => `r:${accountId}:${reservationId}`;
export const deductionRef = (accountId: string, deductionId: string): string => `d:${accountId}:${deductionId}`;
/** A hold that ended with a charge (settled, or expired after progress): kept so a later SettlementRefunded counts under it. */
export const chargedHoldRef = (accountId: string, reservationId: string): string => `s:${accountId}:${reservationId}`;

const accountOf = (event: RecordedEvent): string | undefined =>
  event.streamName.startsWith(ACCOUNT_PREFIX) ? event.streamName.slice(ACCOUNT_PREFIX.length) : undefined;

/** The reference ids a batch will look up: those its settles, releases, expiries and refunds end or use. */
export const refsNeeded = (events: readonly RecordedEvent[]): string[] => {
  // ReservationProgressed needs nothing: the settle or expiry that ends the hold carries the totals.
  const ids = new Set<string>();
  for (const event of events) {
    const accountId = accountOf(event);
    if (accountId === undefined) continue;
    const id = text(event.data['reservationId']);
    if (event.type === 'ReservationSettled' || event.type === 'ReservationReleased' || event.type === 'ReservationExpired') ids.add(holdRef(accountId, id));
    if (event.type === 'DeductionRefunded') ids.add(deductionRef(accountId, text(event.data['deductionId'])));
    if (event.type === 'SettlementRefunded') ids.add(chargedHoldRef(accountId, id));
  }
  return [...ids];
};

/**
 * Releases whose reason says the client (or the caller) stopped the request
 * are "stopped"; every other release and every expiry is "failed".
 */
const stoppedReason = /cancel|abort|stop|client|disconnect/i;

/** The row key an event counts under, given the reference of its hold or deduction. */
const keyOf = (event: RecordedEvent, accountId: string, ref: UsageRef): UsageKey => ({
  day: dayOf(num(event.data['at']) || event.metadata.recordedAt),
  accountId,
  apiKeyId: ref.apiKeyId,
  service: ref.service,
  provider: ref.provider,
  model: ref.model,
});

/** Where an API key id may ride until the ApiKey aggregate lands: the purpose, or the event's metadata. */
const apiKeyOf = (event: RecordedEvent, purpose: { readonly [key: string]: Json }): string =>
  text(purpose['apiKeyId']) || text((event.metadata as unknown as { readonly [key: string]: Json })['apiKeyId']);

/** A reference for a hold or deduction whose own event the projection never saw (it cannot happen from position 0). */
const unknownRef = (event: RecordedEvent): UsageRef => {
  const usage = obj(event.data['usage']);
  return { apiKeyId: '', service: 'other', provider: text(usage['provider']), model: text(usage['model']), amount: 0 };
};

type Change = { readonly ref: UsageRef; readonly counts: Partial<UsageCounts> };

/** What one event adds, and how it changes the references; undefined for events that carry no usage. */
const changeOf = (
  event: RecordedEvent,
  accountId: string,
  refs: Map<string, UsageRef>,
): { change?: Change; put?: readonly [string, UsageRef]; drop?: string } | undefined => {
  const d = event.data;
  switch (event.type) {
    case 'CreditsReserved': {
      const purpose = obj(d['purpose']);
      const ref: UsageRef = { apiKeyId: apiKeyOf(event, purpose), service: serviceOf(purpose['service']), provider: text(purpose['provider']), model: text(purpose['model']), amount: num(d['amount']) };
      return { change: { ref, counts: { requests: 1, creditsHeld: ref.amount } }, put: [holdRef(accountId, text(d['reservationId'])), ref] };
    }
    case 'ReservationSettled':
    case 'ReservationExpired': {
      // Both end a hold with a charge: a settle for what was produced, an expiry for the last recorded progress (often 0).
      const reservationId = text(d['reservationId']);
      const id = holdRef(accountId, reservationId);
      const usage = obj(d['usage']);
      const charged = num(d['charged']);
      // A settle says how the work ended (completed, stopped by the client or the gateway, failed after some output);
      // one written before it said so is a completion. An expiry is a failure: the owner never settled.
      const ended = text(d['ended']);
      const outcome = event.type === 'ReservationExpired' ? 'failed' : ended === 'stopped' || ended === 'failed' ? ended : 'completed';
      const counts = {
        [outcome]: 1,
        inputTokens: num(usage['inputTokens']),
        outputTokens: num(usage['outputTokens']),
        videoSeconds: num(usage['videoSeconds']),
        creditsCharged: charged,
      };
      const ref = refs.get(id) ?? unknownRef(event);
      return { change: { ref, counts }, drop: id, ...(charged > 0 ? { put: [chargedHoldRef(accountId, reservationId), { ...ref, amount: charged }] as const } : {}) };
    }
    case 'ReservationReleased': {
      const id = holdRef(accountId, text(d['reservationId']));
      const stopped = stoppedReason.test(text(d['reason']));
      return { change: { ref: refs.get(id) ?? unknownRef(event), counts: { [stopped ? 'stopped' : 'failed']: 1 } }, drop: id };
    }
    case 'SettlementRefunded': {
      const ref = refs.get(chargedHoldRef(accountId, text(d['reservationId']))) ?? unknownRef(event);
      return { change: { ref, counts: { creditsRefunded: num(d['amount']) } } };
    }
    case 'CreditsDeducted': {
      const ref: UsageRef = { apiKeyId: apiKeyOf(event, d), service: serviceOf(d['service']), provider: '', model: '', amount: num(d['amount']) };
      return { change: { ref, counts: { requests: 1, completed: 1, creditsCharged: ref.amount } }, put: [deductionRef(accountId, text(d['deductionId'])), ref] };
    }
    case 'DeductionRefunded': {
      const ref = refs.get(deductionRef(accountId, text(d['deductionId']))) ?? unknownRef(event);
      return { change: { ref, counts: { creditsRefunded: num(d['amount']) } } };
    }
    default:
      return undefined;
  }
};

export const rowId = (key: UsageKey): string => JSON.stringify([key.day, key.accountId, key.apiKeyId, key.service, key.provider, key.model]);

export const addCounts = (a: UsageCounts, b: Partial<UsageCounts>): UsageCounts => {
  const sum = { ...a } as { [K in UsageCounter]: number };
  for (const name of usageCounters) sum[name] += b[name] ?? 0;
  return sum;
};

/**
 * Folds one batch (events in global order) given the stored references it
 * needs (see refsNeeded). Pure: the same events and references always give
 * the same batch, which the read model commits with its checkpoint.
 */
export const foldUsage = (events: readonly RecordedEvent[], known: ReadonlyMap<string, UsageRef>, after: number): UsageBatch => {
  const refs = new Map(known);
  const created = new Set<string>();
  const dropped = new Set<string>();
  const rows = new Map<string, UsageRow>();
  let position = after;
  for (const event of events) {
    position = event.position;
    const accountId = accountOf(event);
    if (accountId === undefined) continue;
    const result = changeOf(event, accountId, refs);
    if (result === undefined) continue;
    if (result.change !== undefined) {
      const key = keyOf(event, accountId, result.change.ref);
      const id = rowId(key);
      const before = rows.get(id) ?? { ...key, ...zeroCounts };
      rows.set(id, { ...key, ...addCounts(before, result.change.counts) });
    }
    if (result.put !== undefined) {
      refs.set(result.put[0], result.put[1]);
      created.add(result.put[0]);
    }
    if (result.drop !== undefined && refs.delete(result.drop)) {
      if (created.has(result.drop)) created.delete(result.drop);
      else dropped.add(result.drop);
    }
  }
  return {
    deltas: [...rows.values()],
    put: [...created].map((id) => [id, refs.get(id) as UsageRef] as const),
    drop: [...dropped],
    position,
  };
};
