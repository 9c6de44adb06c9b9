import { chunkFrame } from './protocol.js';

/**
 * The frames of recent requests, kept so that a client that lost its socket
 * can reconnect and `resume`: it gets every chunk after the last seq it saw,
 * then the done/error frame, without the provider being asked again.
 *
 * A request's log lives while it runs and for `windowMs` after its last
 * frame. Everything is bounded: bytes per user, requests per user, bytes in
 * total. Over a bound, ended logs go first (oldest first); if that is not
 * enough, the oldest chunks of the log being written are dropped, and a
 * resume that needs them is refused (RESUME_UNAVAILABLE) instead of
 * delivering text with a hole in it.
 */

export type ResumeLimits = {
  /** How long a finished request stays resumable. 0 = not at all. */
  readonly windowMs: number;
  readonly maxBytesPerUser: number;
  readonly maxRequestsPerUser: number;
  readonly maxBytesTotal: number;
};

export type RequestLog = {
  readonly userId: string;
  readonly requestId: string;
  /** Chunk frames; frames[i] carries seq firstSeq + i. */
  frames: string[];
  firstSeq: number;
  /** The seq the next chunk gets (seqs start at 1). */
  nextSeq: number;
  terminal: string | undefined;
  bytes: number;
  endedAt: number | undefined;
  /** Replays that sent at least one frame; bounded per request (budget.ts). */
  replays: number;
};

export type Replay =
  | { readonly kind: 'frames'; readonly frames: readonly string[]; readonly terminal: string | undefined }
  | { readonly kind: 'gap'; readonly firstSeq: number }
  | { readonly kind: 'ahead'; readonly lastSeq: number };

type UserLogs = { readonly logs: Map<string, RequestLog>; bytes: number };

export const makeResumeBuffer = (limits: ResumeLimits, now: () => number) => {
  const users = new Map<string, UserLogs>();
  /** Ended logs in the order they ended: expiry and global eviction walk it from the front. */
  const ended = new Set<RequestLog>();
  let totalBytes = 0;
  let count = 0;

  const userOf = (userId: string): UserLogs => {
    let user = users.get(userId);
    if (user === undefined) {
      user = { logs: new Map(), bytes: 0 };
      users.set(userId, user);
    }
    return user;
  };

  const drop = (log: RequestLog) => {
    const user = users.get(log.userId);
    if (user === undefined || user.logs.get(log.requestId) !== log) return;
    user.logs.delete(log.requestId);
    user.bytes -= log.bytes;
    totalBytes -= log.bytes;
    count -= 1;
    ended.delete(log);
    if (user.logs.size === 0) users.delete(log.userId);
  };

  const addBytes = (log: RequestLog, bytes: number) => {
    log.bytes += bytes;
    totalBytes += bytes;
    const user = users.get(log.userId);
    if (user !== undefined) user.bytes += bytes;
  };

  const oldestEndedOf = (user: UserLogs): RequestLog | undefined => {
    for (const log of user.logs.values()) if (log.endedAt !== undefined) return log;
    return undefined;
  };

  /** Frees room for `log`'s owner: ended logs first, then the oldest chunks of `log` itself. */
  const enforce = (log: RequestLog) => {
    const user = users.get(log.userId);
    if (user === undefined) return;
    for (let victim = oldestEndedOf(user); user.bytes > limits.maxBytesPerUser && victim !== undefined && victim !== log; victim = oldestEndedOf(user)) {
      drop(victim);
    }
    for (const victim of ended) {
      if (totalBytes <= limits.maxBytesTotal) break;
      if (victim !== log) drop(victim);
    }
    while ((user.bytes > limits.maxBytesPerUser || totalBytes > limits.maxBytesTotal) && log.frames.length > 0) {
      const first = log.frames.shift() ?? '';
      addBytes(log, -first.length);
      log.firstSeq += 1;
    }
  };

  const sweep = () => {
    const cutoff = now() - limits.windowMs;
    for (const log of ended) {
      if ((log.endedAt ?? 0) > cutoff) break;
      drop(log);
    }
  };

  return {
    /** A new log for a request; an ended log with the same id is replaced (ids may be reused once a request is over). */
    open: (userId: string, requestId: string): RequestLog => {
      const user = userOf(userId);
      const previous = user.logs.get(requestId);
      if (previous !== undefined) drop(previous);
      const fresh = userOf(userId);
      for (let victim = oldestEndedOf(fresh); fresh.logs.size >= limits.maxRequestsPerUser && victim !== undefined; victim = oldestEndedOf(fresh)) {
        drop(victim);
      }
      const log: RequestLog = { userId, requestId, frames: [], firstSeq: 1, nextSeq: 1, terminal: undefined, bytes: 0, endedAt: undefined, replays: 0 };
      fresh.logs.set(requestId, log);
      count += 1;
      return log;
    },

    /** Gives the chunk its seq, keeps its frame, and returns the frame to send. */
    chunk: (log: RequestLog, data: string): string => {
      const frame = chunkFrame(log.requestId, log.nextSeq, data);
      log.nextSeq += 1;
      if (log.endedAt === undefined && users.get(log.userId)?.logs.get(log.requestId) === log) {
        log.frames.push(frame);
        addBytes(log, frame.length);
        enforce(log);
      }
      return frame;
    },

    /** Records the done/error frame; the log then lives `windowMs` more. */
    end: (log: RequestLog, terminal: string) => {
      log.terminal = terminal;
      log.endedAt = now();
      if (users.get(log.userId)?.logs.get(log.requestId) !== log) return;
      if (limits.windowMs <= 0) {
        drop(log);
        return;
      }
      addBytes(log, terminal.length);
      ended.add(log);
      enforce(log);
    },

    /** The user's log for this id, unless it expired or was evicted. */
    find: (userId: string, requestId: string): RequestLog | undefined => {
      sweep();
      return users.get(userId)?.logs.get(requestId);
    },

    /** What a client that has seen every seq up to `after` is missing. */
    replay: (log: RequestLog, after: number): Replay => {
      const lastSeq = log.nextSeq - 1;
      if (after > lastSeq) return { kind: 'ahead', lastSeq };
      if (after + 1 < log.firstSeq) return { kind: 'gap', firstSeq: log.firstSeq };
      return { kind: 'frames', frames: log.frames.slice(after + 1 - log.firstSeq), terminal: log.terminal };
    },

    sweep,
    size: () => ({ requests: count, bytes: totalBytes }),
    clear: () => {
      users.clear();
      ended.clear();
      totalBytes = 0;
      count = 0;
    },
  };
};

export type ResumeBuffer = ReturnType<typeof makeResumeBuffer>;
