import { makeLedgerLog, type LedgerLog } from '../../application/merkle/ledgerLog.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import type { HashedReads } from '../../application/ports/hashedReads.js';
import type { Supervisor } from '../../application/supervisor.js';
import type { HistoryCheck } from '../../application/merkle/ledgerLog.js';
import type { Config } from '../config.js';
import { StartupError } from '../system/startupError.js';
import type { AppLogger } from '../logging.js';
import { ledgerSetup } from './ledgerSetup.js';

/**
 * Starts the ledger log for the service: resolves the signing key (a missing
 * one stops start-up in production), catches the tree up with the store,
 * then signs a checkpoint every CHECKPOINT_EVERY events (inside the log) and
 * every CHECKPOINT_INTERVAL_MS when something new arrived (here).
 * With `hashedReads` (SQLite) the follower's leaves are hashed in the store's
 * hashing thread, so appends do not share this thread with it.
 *
 * Before it signs anything, the rebuilt tree is checked against the newest
 * checkpoint saved before (`history`): a store that was rolled back, cut or
 * edited would make this log sign a history inconsistent with one it already
 * published. In production that stops start-up with the way out; in
 * development it is an error line and the log signs on (a developer who
 * deleted the database keeps working; the witness tests show what a witness
 * does with such a log).
 */
export const historyProblem = (history: HistoryCheck, checkpointFiles: string): string | undefined => {
  if (history.kind !== 'rolledBack' && history.kind !== 'rewritten') return undefined;
  const found =
    history.kind === 'rolledBack'
      ? `the ledger holds ${history.size} events, fewer than the ${history.saved} its newest signed checkpoint committed to`
      : `the first ${history.saved} events of the ledger no longer hash to the root its newest signed checkpoint committed to`;
  return (
    `${found} (restored from an older copy, cut, or edited): signing a checkpoint now would publish two inconsistent histories under one key. ` +
    `Restore the store it was, or, to begin a new history knowingly, move aside ${checkpointFiles === '' ? 'the saved checkpoints' : `${checkpointFiles}.*`}`
  );
};
export type RunningLedgerLog = LedgerLog & { readonly vkey: string; readonly origin: string };

export const startLedgerLog = async (
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  store: EventStore,
  logger: AppLogger,
  supervisor: Pick<Supervisor, 'resubscribe'>,
  hashedReads?: HashedReads,
): Promise<RunningLedgerLog> => {
  const setup = ledgerSetup(config, env['NODE_ENV']);
  if (setup.generatedKeyPath !== undefined) {
    // Printed once, when the key is made: the public half only, which auditors need to verify checkpoints.
    logger.warn({ keyFile: setup.generatedKeyPath, vkey: setup.vkey }, 'no LEDGER_SIGNING_KEY_FILE: generated a development checkpoint signing key');
  }
  const log = makeLedgerLog({
    store,
    signer: setup.signer,
    origin: setup.origin,
    checkpoints: setup.checkpoints,
    checkpointEvery: config.CHECKPOINT_EVERY,
    // A store outage ends the follower's subscription: the supervisor counts it (/health) and starts it again.
    supervisor,
    ...(hashedReads === undefined ? {} : { hashedReads }),
  });
  await log.start({
    beforeSigning: (history) => {
      const problem = historyProblem(history, setup.checkpointBase);
      if (problem !== undefined) {
        if (env['NODE_ENV'] === 'production') throw new StartupError(problem);
        logger.error({ history }, `${problem} (development: signing anyway)`);
      } else if (history.kind === 'unreadable') {
        logger.warn({ reason: history.reason }, 'the newest saved checkpoint cannot be read; signing a new one');
      }
    },
  });
  await log.checkpointNow();
  const timer = setInterval(() => {
    log.checkpointNow().catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'checkpoint failed; will retry'));
  }, config.CHECKPOINT_INTERVAL_MS);
  timer.unref();
  return {
    ...log,
    vkey: setup.vkey,
    origin: setup.origin,
    stop: async () => {
      clearInterval(timer);
      await log.stop();
    },
  };
};
