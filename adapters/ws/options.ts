import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Config } from '../config.js';
import type { MessageBudgetLimits } from './budget.js';

/**
 * The gateway's settings: the ones in adapters/config.ts (WS_*, RESUME_WINDOW_MS),
 * plus a few finer knobs read here from the environment, decoded with io-ts and
 * defaulted. A bad value stops start-up with a message naming the variable.
 */
export type WsOptions = {
  readonly port: number;
  readonly host: string;
  readonly maxPayloadBytes: number;
  readonly maxConnectionsPerUser: number;
  readonly maxInflightPerConnection: number;
  readonly heartbeatMs: number;
  /** A socket with more than this queued and unsent is dropped as a slow client. */
  readonly maxBufferedBytes: number;
  /** How long close() lets running requests finish before stopping (and settling) them. */
  readonly shutdownGraceMs: number;
  /** How long close() waits for clients to answer the 1001 close before destroying their sockets. */
  readonly closeTimeoutMs: number;
  readonly resume: {
    readonly windowMs: number;
    readonly maxBytesPerUser: number;
    readonly maxRequestsPerUser: number;
    readonly maxBytesTotal: number;
  };
  /** Message and resume replay budgets (budget.ts, docs/protocol.md "Budgets"). */
  readonly budget: MessageBudgetLimits;
};

const knobs = {
  WS_MAX_BUFFERED_BYTES: { min: 1024, max: 1_073_741_824, fallback: 8 * 1024 * 1024 },
  WS_SHUTDOWN_GRACE_MS: { min: 0, max: 600_000, fallback: 10_000 },
  WS_CLOSE_TIMEOUT_MS: { min: 0, max: 60_000, fallback: 2_000 },
  RESUME_MAX_BYTES_PER_USER: { min: 1024, max: 1_073_741_824, fallback: 4 * 1024 * 1024 },
  RESUME_MAX_REQUESTS_PER_USER: { min: 1, max: 100_000, fallback: 256 },
  RESUME_MAX_BYTES_TOTAL: { min: 1024, max: 17_179_869_184, fallback: 256 * 1024 * 1024 },
  WS_MESSAGES_PER_SEC_PER_CONNECTION: { min: 1, max: 100_000, fallback: 20 },
  WS_MESSAGE_BURST_PER_CONNECTION: { min: 1, max: 1_000_000, fallback: 40 },
  WS_MESSAGES_PER_SEC_PER_USER: { min: 1, max: 1_000_000, fallback: 50 },
  WS_MESSAGE_BURST_PER_USER: { min: 1, max: 10_000_000, fallback: 100 },
  WS_MESSAGE_STRIKES: { min: 1, max: 100_000, fallback: 20 },
  WS_BYTES_PER_SEC_PER_USER: { min: 1024, max: 17_179_869_184, fallback: 1024 * 1024 },
  WS_BYTE_BURST_PER_USER: { min: 1024, max: 17_179_869_184, fallback: 4 * 1024 * 1024 },
  RESUME_REPLAY_BYTES_PER_CONNECTION_PER_MIN: { min: 1024, max: 17_179_869_184, fallback: 8 * 1024 * 1024 },
  RESUME_MAX_REPLAYS_PER_REQUEST: { min: 1, max: 100_000, fallback: 10 },
} as const;

type Knob = keyof typeof knobs;

const WholeNumber = new t.Type<number, string, unknown>(
  'WholeNumber',
  (u): u is number => typeof u === 'number',
  (u, c) => (typeof u === 'string' && /^\d+$/.test(u.trim()) ? t.success(Number(u)) : t.failure(u, c)),
  String,
);

const knob = (env: Readonly<Record<string, string | undefined>>, name: Knob): number => {
  const { min, max, fallback } = knobs[name];
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const decoded = WholeNumber.decode(raw);
  if (E.isLeft(decoded) || decoded.right < min || decoded.right > max) {
    throw new Error(`invalid configuration: ${name} must be a whole number between ${min} and ${max} (got "${raw}")`);
  }
  return decoded.right;
};

export const wsOptionsFrom = (config: Config, env: Readonly<Record<string, string | undefined>>): WsOptions => ({
  port: config.WS_PORT,
  host: config.HOST,
  maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
  maxConnectionsPerUser: config.WS_MAX_CONNECTIONS_PER_USER,
  maxInflightPerConnection: config.WS_MAX_INFLIGHT_PER_CONNECTION,
  heartbeatMs: config.WS_HEARTBEAT_MS,
  maxBufferedBytes: knob(env, 'WS_MAX_BUFFERED_BYTES'),
  shutdownGraceMs: knob(env, 'WS_SHUTDOWN_GRACE_MS'),
  closeTimeoutMs: knob(env, 'WS_CLOSE_TIMEOUT_MS'),
  resume: {
    windowMs: config.RESUME_WINDOW_MS,
    maxBytesPerUser: knob(env, 'RESUME_MAX_BYTES_PER_USER'),
    maxRequestsPerUser: knob(env, 'RESUME_MAX_REQUESTS_PER_USER'),
    maxBytesTotal: knob(env, 'RESUME_MAX_BYTES_TOTAL'),
  },
  budget: {
    perConnection: { capacity: knob(env, 'WS_MESSAGE_BURST_PER_CONNECTION'), perSecond: knob(env, 'WS_MESSAGES_PER_SEC_PER_CONNECTION') },
    perUser: { capacity: knob(env, 'WS_MESSAGE_BURST_PER_USER'), perSecond: knob(env, 'WS_MESSAGES_PER_SEC_PER_USER') },
    bytesPerUser: { capacity: knob(env, 'WS_BYTE_BURST_PER_USER'), perSecond: knob(env, 'WS_BYTES_PER_SEC_PER_USER') },
    // Strikes come back at one a second: a client that paused after being told to is forgiven.
    strikes: { capacity: knob(env, 'WS_MESSAGE_STRIKES'), perSecond: 1 },
    replayBytesPerConnection: {
      capacity: knob(env, 'RESUME_REPLAY_BYTES_PER_CONNECTION_PER_MIN'),
      perSecond: knob(env, 'RESUME_REPLAY_BYTES_PER_CONNECTION_PER_MIN') / 60,
    },
    maxReplaysPerRequest: knob(env, 'RESUME_MAX_REPLAYS_PER_REQUEST'),
  },
});
