import type { CreditAccountEvent, CreditAccountState, OpenAccount } from '../domain/creditAccount/index.js';
import { available, creditAccountDecider, isExpiredAt, spendableAt } from '../domain/creditAccount/index.js';

/**
 * The rules of money, re-checked from history alone (issue 12). Each account
 * is folded with the domain's own `evolve` (which attributes every credit to
 * a grant by the burn-down rule), and every event is judged against the state
 * just before it: an event that `decide` would never have produced, such as a
 * well-chained refund of 50,000 against a 90-credit deduction, is named here
 * even though every hash link is intact.
 *
 * Memory grows with the ids an account has used (they must be unique per
 * kind, so they have to be remembered), not with the number of events.
 */
export type MoneyRule =
  | 'balance-negative'
  | 'holds-exceed-balance'
  | 'credit-unattributed'
  | 'event-before-open'
  | 'duplicate-grant-id'
  | 'duplicate-deduction-id'
  | 'duplicate-reservation-id'
  | 'duplicate-refund-id'
  | 'overspent'
  | 'expired-credit-spent'
  | 'allocation-mismatch'
  | 'hold-unknown'
  | 'hold-not-open'
  | 'hold-resolved-twice'
  | 'hold-split-mismatch'
  | 'hold-expired-early'
  | 'charge-exceeds-hold'
  | 'progress-regressed'
  | 'expiry-charge-mismatch'
  | 'refund-unknown-charge'
  | 'refund-exceeds-charge'
  | 'grant-unknown'
  | 'grant-expired-early'
  | 'grant-overexpired';

export type MoneyViolation = { readonly streamName: string; readonly revision: number; readonly rule: MoneyRule };

/** One account's audit state: the folded account, and whether any event of it broke a rule. */
export type MoneyTally = { state: CreditAccountState; broken: boolean };

export const newMoneyTally = (): MoneyTally => ({ state: creditAccountDecider.initialState, broken: false });

export const tallyBalances = (t: MoneyTally) =>
  t.state.status === 'open' ? { balance: t.state.balance, held: t.state.held } : { balance: 0, held: 0 };

type Allocated = { readonly amount: number; readonly at: number; readonly allocation?: readonly { grantId: string; amount: number }[] };

/** A spend must be covered by credit that was neither held nor past its expiry, and its allocation must add up. */
const spendRules = (s: OpenAccount, d: Allocated): MoneyRule[] => {
  const rules: MoneyRule[] = [];
  if (d.amount > available(s)) rules.push('overspent');
  else if (d.amount > spendableAt(s, d.at)) rules.push('expired-credit-spent');
  if (d.allocation === undefined) return rules;
  let sum = 0;
  const seen = new Set<string>();
  for (const part of d.allocation) {
    const pot = s.grants.get(part.grantId);
    sum += part.amount;
    if (pot === undefined || seen.has(part.grantId) || part.amount > pot.free) rules.push('allocation-mismatch');
    else if (isExpiredAt(pot, d.at)) rules.push('expired-credit-spent');
    seen.add(part.grantId);
  }
  if (sum !== d.amount) rules.push('allocation-mismatch');
  return rules;
};

type HoldEvent = Extract<CreditAccountEvent, { type: 'ReservationSettled' | 'ReservationReleased' | 'ReservationExpired' | 'ReservationProgressed' }>;

const holdRules = (s: OpenAccount, e: HoldEvent): MoneyRule[] => {
  const hold = s.reservations.get(e.data.reservationId);
  if (hold === undefined) return ['hold-unknown'];
  if (hold.status !== 'open') return [e.type === 'ReservationProgressed' ? 'hold-not-open' : 'hold-resolved-twice'];
  const recorded = hold.progress?.charged ?? 0;
  const rules: MoneyRule[] = [];
  switch (e.type) {
    case 'ReservationProgressed':
      if (e.data.charged > hold.amount) rules.push('charge-exceeds-hold');
      if (e.data.charged < recorded) rules.push('progress-regressed');
      return rules;
    case 'ReservationSettled':
      if (e.data.charged > hold.amount) rules.push('charge-exceeds-hold');
      if (e.data.charged + e.data.released !== hold.amount) rules.push('hold-split-mismatch');
      if (e.data.charged < recorded) rules.push('progress-regressed');
      return rules;
    case 'ReservationReleased':
      if (e.data.amount !== hold.amount) rules.push('hold-split-mismatch');
      if (recorded > 0) rules.push('progress-regressed');
      return rules;
    case 'ReservationExpired': {
      const charged = e.data.charged ?? 0;
      if (e.data.amount !== hold.amount) rules.push('hold-split-mismatch');
      if (charged > hold.amount) rules.push('charge-exceeds-hold');
      if (charged !== recorded) rules.push('expiry-charge-mismatch');
      if (e.data.at < hold.expiresAt) rules.push('hold-expired-early');
      return rules;
    }
  }
};

const refundRules = (s: OpenAccount, e: Extract<CreditAccountEvent, { type: 'DeductionRefunded' | 'SettlementRefunded' }>): MoneyRule[] => {
  const rules: MoneyRule[] = s.refunds.has(e.data.refundId) ? ['duplicate-refund-id'] : [];
  let refundable: number | undefined;
  if (e.type === 'DeductionRefunded') {
    const deduction = s.deductions.get(e.data.deductionId);
    refundable = deduction === undefined ? undefined : deduction.amount - deduction.refunded;
  } else {
    const hold = s.reservations.get(e.data.reservationId);
    const charged = hold !== undefined && (hold.status === 'settled' || hold.status === 'expired') ? (hold.charged ?? 0) : undefined;
    refundable = hold === undefined || charged === undefined ? undefined : charged - hold.refunded;
  }
  if (refundable === undefined) rules.push('refund-unknown-charge');
  else if (e.data.amount > refundable) rules.push('refund-exceeds-charge');
  return rules;
};

const grantExpiryRules = (s: OpenAccount, e: Extract<CreditAccountEvent, { type: 'GrantExpired' }>): MoneyRule[] => {
  const pot = s.grants.get(e.data.grantId);
  if (pot === undefined) return ['grant-unknown'];
  const rules: MoneyRule[] = [];
  // Paid credit never expires, and promotional credit not before its instant.
  if (!isExpiredAt(pot, e.data.at)) rules.push('grant-expired-early');
  // Only what the grant still has free can expire: never what is spent or promised to a hold.
  if (e.data.amount > pot.free) rules.push('grant-overexpired');
  return rules;
};

/** The rules an event breaks, judged against the account just before it. */
const rulesBefore = (state: CreditAccountState, e: CreditAccountEvent): MoneyRule[] => {
  if (e.type === 'AccountOpened') return [];
  if (state.status !== 'open') return ['event-before-open'];
  switch (e.type) {
    case 'CreditsGranted':
      return state.grants.has(e.data.grantId) ? ['duplicate-grant-id'] : [];
    case 'GrantExpired':
      return grantExpiryRules(state, e);
    case 'CreditsDeducted':
      return [...(state.deductions.has(e.data.deductionId) ? (['duplicate-deduction-id'] as const) : []), ...spendRules(state, e.data)];
    case 'CreditsReserved':
      return [...(state.reservations.has(e.data.reservationId) ? (['duplicate-reservation-id'] as const) : []), ...spendRules(state, e.data)];
    case 'DeductionRefunded':
    case 'SettlementRefunded':
      return refundRules(state, e);
    case 'ReservationSettled':
    case 'ReservationReleased':
    case 'ReservationExpired':
    case 'ReservationProgressed':
      return holdRules(state, e);
  }
};

/** The state rules that must hold after every event. */
const rulesAfter = (state: CreditAccountState): MoneyRule[] => {
  if (state.status !== 'open') return [];
  const rules: MoneyRule[] = [];
  if (state.balance < 0) rules.push('balance-negative');
  else if (state.held > state.balance) rules.push('holds-exceed-balance');
  return rules;
};

/**
 * Judges one event of an account and folds it. Returns the names of the
 * rules it breaks (empty for an honest event). `credit-unattributed` (the
 * balance differs from what the grants still own) is checked separately, at
 * the end, by `finalMoneyRules`, because it is a sum over every grant.
 */
export const applyMoneyRules = (tally: MoneyTally, event: CreditAccountEvent): MoneyRule[] => {
  const before = rulesBefore(tally.state, event);
  tally.state = creditAccountDecider.evolve(tally.state, event);
  const after = rulesAfter(tally.state);
  const rules = before.length === 0 ? after : after.length === 0 ? before : [...before, ...after];
  if (rules.length > 0) tally.broken = true;
  return rules;
};

/**
 * Whole-account rules checked once after the replay: every credit of the
 * balance belongs to some grant. Only reported for an account no event of
 * which broke a rule already (that event is the cause, and is named).
 */
export const finalMoneyRules = (tally: MoneyTally): MoneyRule[] => {
  const s = tally.state;
  if (s.status !== 'open' || tally.broken) return [];
  let owned = 0;
  for (const pot of s.grants.values()) owned += pot.free + pot.held;
  return owned === s.balance ? [] : ['credit-unattributed'];
};
