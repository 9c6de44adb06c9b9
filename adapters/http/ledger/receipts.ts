import { accountStream } from '../../../domain/creditAccount/index.js';
import { findReceipt, type Receipt } from '../../../application/merkle/receipts.js';
import type { App } from '../../app.js';

/**
 * Receipts for the REST deduct and grant answers: the event's position and
 * leaf hash. Looked up after the command succeeded (one read of the stream's
 * newest event, nearly always the one), so the append itself never waits for them; a receipt that
 * cannot be found (the store is briefly unreachable) is left out rather
 * than failing a charge that did happen.
 */
const receiptFor = async (app: App, accountId: string, type: string, idField: string, id: string): Promise<{ receipt?: Receipt }> => {
  try {
    // The event was just appended by this process, so the cached revision already covers it; only an
    // account dropped from the cache since is caught up from the store first.
    const revision = app.ledger.handler.cached(accountStream(accountId))?.revision ?? (await app.ledger.balance(accountId)).revision;
    if (revision === 'no_stream') return {};
    const receipt = await findReceipt(app.store, accountStream(accountId), revision, (e) => e.type === type && e.data[idField] === id);
    return receipt === undefined ? {} : { receipt };
  } catch (error) {
    app.logger.warn({ err: (error as Error).message, accountId }, 'receipt lookup failed; answering without a receipt');
    return {};
  }
};

export const deductionReceipt = (app: App, accountId: string, deductionId: string) => receiptFor(app, accountId, 'CreditsDeducted', 'deductionId', deductionId);

export const grantReceipt = (app: App, accountId: string, grantId: string) => receiptFor(app, accountId, 'CreditsGranted', 'grantId', grantId);

/** The receipt in the OpenAPI document. */
export const ReceiptSchema = {
  type: 'object',
  description: 'Where the event is in the Merkle log: its global position and leaf hash (hex). Prove it with /api/ledger/proof/inclusion.',
  properties: { position: { type: 'integer' }, leafHash: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
} as const;

/** The receipt of a settled hold (the WS `done` frame's charge). */
export const settlementReceipt = (app: App, accountId: string, reservationId: string) =>
  receiptFor(app, accountId, 'ReservationSettled', 'reservationId', reservationId);

type Run = App['completion']['run'];

/**
 * The completion with a receipt on every charged outcome: after the settle
 * was written (the stream is over), one short read finds the settlement
 * event. Used by the WebSocket gateway for its `done` frame.
 */
export const withSettlementReceipts = (app: App): Pick<App['completion'], 'run'> => ({
  run: async (...args: Parameters<Run>) => {
    const outcome = await app.completion.run(...args);
    if (outcome._tag === 'Left' || outcome.right.charged <= 0) return outcome;
    const found = await settlementReceipt(app, args[0].userId, outcome.right.reservationId);
    return found.receipt === undefined ? outcome : { ...outcome, right: { ...outcome.right, receipt: found.receipt } };
  },
});
