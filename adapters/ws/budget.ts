/**
 * Budgets for what one client may make the gateway do (issue 11): every
 * incoming frame (completion, cancel, resume, garbage) spends from its
 * connection's and its user's message bucket, and every byte a resume
 * replays spends from its connection's replay bucket. Buckets refill
 * continuously; a frame over budget is answered with a RATE_LIMIT_EXCEEDED
 * error frame, and a connection that keeps sending past its budget (its
 * strikes run out) is closed with 1008.
 *
 * Plain token buckets in memory: the WebSocket gateway holds its sockets in
 * one process, so a per-process budget is the right scope.
 */

export type Bucket = { level: number; atMs: number };

export type BucketLimits = {
  /** The most the bucket holds (the burst). */
  readonly capacity: number;
  /** Refill per second. */
  readonly perSecond: number;
};

export const fullBucket = (limits: BucketLimits, nowMs: number): Bucket => ({ level: limits.capacity, atMs: nowMs });

const refill = (bucket: Bucket, limits: BucketLimits, nowMs: number) => {
  const elapsedMs = Math.max(0, nowMs - bucket.atMs);
  bucket.level = Math.min(limits.capacity, bucket.level + (elapsedMs * limits.perSecond) / 1000);
  bucket.atMs = nowMs;
};

/** Takes `amount` when the bucket holds it; otherwise takes nothing and says how long until it would. */
export const take = (bucket: Bucket, limits: BucketLimits, amount: number, nowMs: number): { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number } => {
  refill(bucket, limits, nowMs);
  if (bucket.level >= amount) {
    bucket.level -= amount;
    return { ok: true };
  }
  const missing = amount - bucket.level;
  const retryAfterMs = limits.perSecond > 0 ? Math.ceil((missing * 1000) / limits.perSecond) : Number.MAX_SAFE_INTEGER;
  return { ok: false, retryAfterMs };
};

export type MessageBudgetLimits = {
  readonly perConnection: BucketLimits;
  readonly perUser: BucketLimits;
  /** Frame bytes per user over all their sockets: what parsing their frames may cost. */
  readonly bytesPerUser: BucketLimits;
  /** Over-budget frames a connection may send (refilling at `perSecond`) before it is closed. */
  readonly strikes: BucketLimits;
  /** Resume replay bytes per connection. */
  readonly replayBytesPerConnection: BucketLimits;
  /** How many times one request's log may be replayed (with at least one frame) in all. */
  readonly maxReplaysPerRequest: number;
};

/**
 * The defaults (docs/protocol.md, "Budgets"): far above what a client that
 * streams answers needs, far below what it takes to keep a core busy.
 */
export const DEFAULT_BUDGET: MessageBudgetLimits = {
  perConnection: { capacity: 40, perSecond: 20 },
  perUser: { capacity: 100, perSecond: 50 },
  bytesPerUser: { capacity: 4 * 1024 * 1024, perSecond: 1024 * 1024 },
  strikes: { capacity: 20, perSecond: 1 },
  replayBytesPerConnection: { capacity: 8 * 1024 * 1024, perSecond: (8 * 1024 * 1024) / 60 },
  maxReplaysPerRequest: 10,
};

/** Per-user message buckets, forgotten once full again so the map holds only recently active users. */
export const makeUserBuckets = (limits: BucketLimits, now: () => number, sweepEvery = 1000) => {
  const buckets = new Map<string, Bucket>();
  let calls = 0;
  const sweep = (nowMs: number) => {
    for (const [userId, bucket] of buckets) {
      refill(bucket, limits, nowMs);
      if (bucket.level >= limits.capacity) buckets.delete(userId);
    }
  };
  return {
    take: (userId: string, amount: number) => {
      const nowMs = now();
      calls += 1;
      if (calls % sweepEvery === 0) sweep(nowMs);
      let bucket = buckets.get(userId);
      if (bucket === undefined) {
        bucket = fullBucket(limits, nowMs);
        buckets.set(userId, bucket);
      }
      return take(bucket, limits, amount, nowMs);
    },
    size: () => buckets.size,
  };
};
