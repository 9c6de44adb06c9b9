/**
 * An independent fold of one account's history, event by event, written from
 * the event shapes a user sees in `ledger history --json` (not the service's
 * own evolve), so a bug in the service's fold cannot hide itself here.
 * Events the fold does not know are listed, never silently skipped.
 */

export type HistoryItem = { readonly revision: number; readonly position: number; readonly type: string; readonly data: Record<string, unknown> };

export type Hold = {
  readonly reservationId: string;
  readonly amount: number;
  readonly requestId: string | undefined;
  readonly model: string | undefined;
  readonly reservedAt: number;
  expiresAt: number;
  closed?: { readonly type: string; readonly at: number; readonly charged: number; readonly revision: number };
  /** Last usage/charge recorded on the hold while it ran (progress records), if any. */
  progressCharged?: number;
  progressRecords: number;
};

export type FoldFinding =
  | { readonly kind: 'negative-balance'; readonly account: string; readonly revision: number; readonly balance: number }
  | { readonly kind: 'negative-available'; readonly account: string; readonly revision: number; readonly available: number }
  | { readonly kind: 'grant-over-expired'; readonly account: string; readonly revision: number; readonly grantId: string; readonly granted: number; readonly expired: number }
  | { readonly kind: 'unknown-event'; readonly account: string; readonly revision: number; readonly type: string };

export type AccountFold = {
  readonly account: string;
  readonly balance: number;
  readonly held: number;
  readonly holds: Map<string, Hold>;
  readonly deductions: { readonly deductionId: string; readonly amount: number; readonly service: string; readonly sessionId: string | undefined; readonly revision: number }[];
  readonly grants: Map<string, { readonly amount: number; readonly expiresAt: number | undefined; expired: number }>;
  readonly findings: FoldFinding[];
  readonly events: number;
};

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const CLOSING = new Set(['ReservationSettled', 'ReservationReleased', 'ReservationExpired']);

export const foldAccount = (account: string, items: readonly HistoryItem[]): AccountFold => {
  let balance = 0;
  const holds = new Map<string, Hold>();
  const grants = new Map<string, { amount: number; expiresAt: number | undefined; expired: number }>();
  const deductions: AccountFold['deductions'] = [];
  const findings: FoldFinding[] = [];
  const held = () => [...holds.values()].filter((h) => h.closed === undefined).reduce((s, h) => s + h.amount, 0);

  items.forEach((item, index) => {
    const d = item.data;
    const at = num(d['at']);
    switch (item.type) {
      case 'AccountOpened':
        break;
      case 'CreditsGranted':
        balance += num(d['amount']);
        grants.set(String(d['grantId']), { amount: num(d['amount']), expiresAt: typeof d['expiresAt'] === 'number' ? d['expiresAt'] : undefined, expired: 0 });
        break;
      case 'GrantExpired': {
        balance -= num(d['amount']);
        const g = grants.get(String(d['grantId']));
        if (g !== undefined) {
          g.expired += num(d['amount']);
          if (g.expired > g.amount) findings.push({ kind: 'grant-over-expired', account, revision: item.revision, grantId: String(d['grantId']), granted: g.amount, expired: g.expired });
        }
        break;
      }
      case 'CreditsDeducted':
        balance -= num(d['amount']);
        deductions.push({ deductionId: String(d['deductionId']), amount: num(d['amount']), service: String(d['service']), sessionId: str(d['sessionId']), revision: item.revision });
        break;
      case 'DeductionRefunded':
      case 'SettlementRefunded':
        balance += num(d['amount']);
        break;
      case 'CreditsReserved': {
        const purpose = (d['purpose'] ?? {}) as Record<string, unknown>;
        holds.set(String(d['reservationId']), {
          reservationId: String(d['reservationId']),
          amount: num(d['amount']),
          requestId: str(purpose['requestId']),
          model: str(purpose['model']),
          reservedAt: at,
          expiresAt: num(d['expiresAt']),
          progressRecords: 0,
        });
        break;
      }
      default: {
        const hold = typeof d['reservationId'] === 'string' ? holds.get(d['reservationId']) : undefined;
        if (CLOSING.has(item.type) && hold !== undefined) {
          // Settled charges `charged`; an expiry may charge the last recorded usage; a release charges nothing.
          const charged = num(d['charged']);
          balance -= charged;
          hold.closed = { type: item.type, at, charged, revision: item.revision };
        } else if (hold !== undefined && (typeof d['expiresAt'] === 'number' || d['usage'] !== undefined || typeof d['charged'] === 'number')) {
          // A progress record on a running hold (usage so far, new expiry), whatever its exact name.
          if (typeof d['expiresAt'] === 'number') hold.expiresAt = d['expiresAt'];
          if (typeof d['charged'] === 'number') hold.progressCharged = d['charged'];
          hold.progressRecords += 1;
        } else if (item.type === 'DeductionRefunded' || item.type.endsWith('Refunded')) {
          balance += num(d['amount']);
        } else {
          findings.push({ kind: 'unknown-event', account, revision: item.revision, type: item.type });
        }
      }
    }
    if (balance < 0) findings.push({ kind: 'negative-balance', account, revision: item.revision, balance });
    // Available is judged where a commit ends (events of one decision share their instant), so the
    // order of events inside one decision does not matter.
    const nextAt = num(items[index + 1]?.data['at']);
    const available = balance - held();
    if ((index === items.length - 1 || nextAt !== at) && available < 0) findings.push({ kind: 'negative-available', account, revision: item.revision, available });
  });
  return { account, balance, held: held(), holds, deductions, grants, findings, events: items.length };
};
