import { createHash } from 'node:crypto';
import type { Json } from '../../application/ports/eventStore.js';
import type { IdempotencyStore } from '../../application/ports/sessionStore.js';
import { idempotencyTtlMinMs } from '../../application/ports/sessionStore.js';
import type { AppLogger } from '../logging.js';
import { problem, withHeaders } from './problems.js';

/**
 * `Idempotency-Key` for REST money commands (IETF draft
 * httpapi-idempotency-key-header semantics):
 * - the first request with a key runs; its outcome (status and body) is kept
 *   for at least 24 h and replayed for the same key and the same request,
 *   flagged `Idempotent-Replayed: true`;
 * - the same key with a different request is 409 `idempotency-key-reused`;
 * - the same key and request while the first is still running is 409
 *   `idempotency-in-progress` with Retry-After (the draft's choice of 409).
 * Keys are scoped per caller, so two users can never collide or probe each
 * other's keys. The store only saves work: the ledger id of the operation is
 * also derived from caller + key, so even a lost key cannot charge twice.
 */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted at every level: equal values give equal text. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

/** The id the ledger records for the operation behind (caller, key): stable, bounded, opaque. */
export const ledgerIdFor = (scope: string, callerId: string, key: string): string => `${scope}:${sha256Hex(`${callerId}\n${key}`)}`;

/** How long a running request owns its key; a crashed process frees it after this. */
export const RESERVATION_TTL_MS = 30_000;
/** Kept a little over the promised 24 h, so a replay at exactly 24 h still works. */
export const RESPONSE_TTL_MS = idempotencyTtlMinMs + 60 * 60 * 1000;

export type Outcome = {
  readonly status: number;
  readonly body: Json;
  /** False for outcomes a retry may change (outages): the key is freed instead of kept. */
  readonly final: boolean;
};

export type IdempotentResult = Outcome & { readonly replayed: boolean };

export type IdempotentRequest = {
  readonly scope: string;
  readonly callerId: string;
  readonly key: string;
  /** What makes two requests "the same": method, path and the canonical decoded body. */
  readonly request: unknown;
};

const reused = () =>
  problem(409, 'idempotency-key-reused', 'Idempotency key reused', 'This Idempotency-Key was already used with a different request.');

export const makeIdempotency = (deps: { readonly store: IdempotencyStore; readonly logger: AppLogger }) => ({
  run: async (input: IdempotentRequest, execute: () => Promise<Outcome>): Promise<IdempotentResult> => {
    const storeKey = `${input.scope}:${sha256Hex(`${input.callerId}\n${input.key}`)}`;
    const requestHash = sha256Hex(canonicalJson(input.request));
    const reservation = await deps.store.putIfAbsent(storeKey, requestHash, RESERVATION_TTL_MS);
    if (reservation._tag === 'completed') {
      if (reservation.response.requestHash !== requestHash) throw reused();
      return { status: reservation.response.status, body: reservation.response.body, final: true, replayed: true };
    }
    if (reservation._tag === 'in_progress') {
      if (reservation.requestHash !== requestHash) throw reused();
      throw withHeaders(
        problem(409, 'idempotency-in-progress', 'Request in progress', 'A request with this Idempotency-Key is still running; retry shortly.'),
        { 'Retry-After': '1' },
      );
    }
    let outcome: Outcome;
    try {
      outcome = await execute();
    } catch (error) {
      await deps.store.release(storeKey).catch(() => undefined);
      throw error;
    }
    try {
      if (outcome.final) await deps.store.complete(storeKey, { requestHash, status: outcome.status, body: outcome.body }, RESPONSE_TTL_MS);
      else await deps.store.release(storeKey);
    } catch (error) {
      // The operation is done and durable in the ledger; failing the response now would only make the
      // client retry, which the ledger id absorbs. Say so in the log and answer normally.
      deps.logger.warn({ err: (error as Error).message, scope: input.scope }, 'idempotency store write failed after the operation');
    }
    return { ...outcome, replayed: false };
  },
});

export type Idempotency = ReturnType<typeof makeIdempotency>;
