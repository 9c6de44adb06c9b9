import { makeLedgerLog, type LedgerLog } from '../../application/merkle/ledgerLog.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import type { HashedReads } from '../../application/ports/hashedReads.js';
import type { Supervisor } from '../../application/supervisor.js';
import type { Config } from '../config.js';
import type { AppLogger } from '../logging.js';
import { ledgerSetup } from './ledgerSetup.js';

/**
 * Starts the ledger log for the service: resolves the signing key (a missing
 * one stops start-up in production), catches the tree up with the store,
 * then signs a checkpoint every CHECKPOINT_EVERY events (inside the log) and
 * every CHECKPOINT_INTERVAL_MS when something new arrived (here).
 * With `hashedReads` (SQLite) the follower's leaves are hashed in the store's
 * hashing thread, so appends do not share this thread with it.
 */
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
  await log.start();
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
