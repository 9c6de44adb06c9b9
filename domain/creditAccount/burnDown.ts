/**
 * The burn-down rule: which grant a credit is spent from, and where it goes
 * back to. One rule for every spend (deductions, holds, expiry charges) and
 * every return (releases, refunds), so decide, evolve and the audit agree.
 *
 * Spending order: higher `priority` first (default 0); then the earliest
 * expiry (credit that never expires last); then the oldest grant (its place
 * in the account's history). Credit whose expiry instant has passed at the
 * moment of a command is never taken, whether or not a sweep has run.
 *
 * A charge taken from a hold's allocation uses the allocation in the order it
 * was recorded (which is the spending order at reservation time). A refund
 * returns credit in the reverse order of the spend it refunds: the credit
 * spent last comes back first, so paid (non-expiring) credit is restored
 * before promotional credit.
 */

/** One grant's credit, split by where it is. `free + held` is what the grant still owns. */
export type GrantPot = {
  readonly grantId: string;
  readonly amount: number;
  readonly expiresAt: number | undefined;
  readonly at: number;
  readonly priority: number;
  /** Position among the account's grants: the tie-breaker "oldest first". */
  readonly seq: number;
  /** Owned, not promised to a hold; spendable until the grant's expiry instant. */
  readonly free: number;
  /** Promised to open holds (their allocations). */
  readonly held: number;
  /** Taken by deductions and charges, net of refunds. */
  readonly spent: number;
  /** Removed by GrantExpired. */
  readonly expired: number;
};

export type AllocationPart = { readonly grantId: string; readonly amount: number };
export type Allocation = readonly AllocationPart[];

/** Negative when `a` is spent before `b`. */
export const spendOrderCompare = (a: GrantPot, b: GrantPot): number =>
  b.priority - a.priority || (a.expiresAt ?? Number.POSITIVE_INFINITY) - (b.expiresAt ?? Number.POSITIVE_INFINITY) || a.seq - b.seq;

export const isExpiredAt = (pot: Pick<GrantPot, 'expiresAt'>, at: number): boolean => pot.expiresAt !== undefined && pot.expiresAt <= at;

/** What the burn-down needs of an account: its grants and the ids of those with free credit, in spending order. */
export type Pots = { readonly grants: ReadonlyMap<string, GrantPot>; readonly spendOrder: readonly string[] };

/** Free credit that a command at `at` may spend: expired credit is excluded even before a sweep removes it. */
export const spendableAt = (pots: Pots, at: number): number => {
  let sum = 0;
  for (const id of pots.spendOrder) {
    const pot = pots.grants.get(id);
    if (pot !== undefined && !isExpiredAt(pot, at)) sum += pot.free;
  }
  return sum;
};

/**
 * Which grants pay `amount` at `at`, in spending order. With `at` undefined
 * (histories recorded before allocations existed) expiry is not considered,
 * as the deciders of that time did not. Returns fewer credits than asked
 * only for such old histories; `decide` checks `spendableAt` first.
 */
export const allocate = (pots: Pots, amount: number, at: number | undefined): AllocationPart[] => {
  const parts: AllocationPart[] = [];
  let left = amount;
  for (const id of pots.spendOrder) {
    if (left === 0) break;
    const pot = pots.grants.get(id);
    if (pot === undefined || pot.free === 0 || (at !== undefined && isExpiredAt(pot, at))) continue;
    const take = Math.min(pot.free, left);
    parts.push({ grantId: id, amount: take });
    left -= take;
  }
  return parts;
};

/** Splits a hold's allocation into the charged part (taken from the front) and the released rest. */
export const splitCharge = (allocation: Allocation, charged: number): { charged: AllocationPart[]; released: AllocationPart[] } => {
  const taken: AllocationPart[] = [];
  const released: AllocationPart[] = [];
  let left = charged;
  for (const part of allocation) {
    const take = Math.min(part.amount, left);
    left -= take;
    if (take > 0) taken.push({ grantId: part.grantId, amount: take });
    if (part.amount - take > 0) released.push({ grantId: part.grantId, amount: part.amount - take });
  }
  return { charged: taken, released };
};

/**
 * Where a refund of `amount` goes, given what the spend took (`spent`, in
 * spending order) and what earlier refunds already returned: from the back.
 */
export const refundParts = (spent: Allocation, alreadyRefunded: number, amount: number): AllocationPart[] => {
  const parts: AllocationPart[] = [];
  let skip = alreadyRefunded;
  let left = amount;
  for (let i = spent.length - 1; i >= 0 && left > 0; i--) {
    const part = spent[i] as AllocationPart;
    const skipped = Math.min(part.amount, skip);
    skip -= skipped;
    const give = Math.min(part.amount - skipped, left);
    if (give > 0) parts.push({ grantId: part.grantId, amount: give });
    left -= give;
  }
  return parts;
};

/** Sums parts per grant, keeping first-seen order. */
export const mergeParts = (parts: Iterable<AllocationPart>): AllocationPart[] => {
  const sums = new Map<string, number>();
  for (const p of parts) sums.set(p.grantId, (sums.get(p.grantId) ?? 0) + p.amount);
  return [...sums.entries()].map(([grantId, amount]) => ({ grantId, amount }));
};
