import { createHash, generateKeyPairSync } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { isKeyName } from '../../application/checkpoints/note.js';
import { formatVkey } from '../../application/checkpoints/note.js';
import type { CheckpointStore } from '../../application/ports/checkpointStore.js';
import type { NoteSigner } from '../../application/ports/signer.js';
import type { Config } from '../config.js';
import { storeKind } from '../eventstore/fromUrl.js';
import { parseSqliteConnectionString } from '../eventstore/sqlite/sqliteConnectionString.js';
import { makeCheckpointFile } from './checkpointFile.js';
import { readSigningKey, resolveSigningKey, signerFromKey, SigningKeyError } from './ed25519.js';

const makeMemoryCheckpoints = (): CheckpointStore => {
  let latest: string | undefined;
  return {
    latest: async () => latest,
    save: async (note) => {
      latest = note;
    },
  };
};

/**
 * Where the ledger log keeps its state, and its signing key, for the service
 * and the CLI alike (both must agree, or the CLI would sign with another key).
 *
 * The state directory is the SQLite file's directory for the embedded store
 * (the development key and checkpoints sit next to it), otherwise
 * LEDGER_STATE_DIR (default `data`). Checkpoints of a SQLite store are
 * `<file>.checkpoints.*`; of another store `checkpoints-<hash of its URL>.*`,
 * so two databases never share a file.
 */
export type LedgerSettings = Pick<Config, 'EVENT_STORE' | 'LEDGER_ORIGIN'> & Partial<Pick<Config, 'LEDGER_SIGNING_KEY_FILE' | 'LEDGER_STATE_DIR'>>;

export type LedgerSetup = {
  readonly origin: string;
  readonly signer: NoteSigner;
  readonly vkey: string;
  readonly checkpoints: CheckpointStore;
  readonly checkpointBase: string;
  /** Where a generated development key was written this time (undefined when none was generated). */
  readonly generatedKeyPath: string | undefined;
};

const stateBase = (settings: LedgerSettings): { dir: string; checkpoints: string } => {
  if (storeKind(settings.EVENT_STORE) === 'sqlite') {
    const parsed = parseSqliteConnectionString(settings.EVENT_STORE);
    if (E.isRight(parsed)) {
      const dir = settings.LEDGER_STATE_DIR ?? dirname(parsed.right.path);
      return { dir, checkpoints: join(dir, `${basename(parsed.right.path)}.checkpoints`) };
    }
  }
  const dir = settings.LEDGER_STATE_DIR ?? 'data';
  const tag = createHash('sha256').update(settings.EVENT_STORE).digest('hex').slice(0, 12);
  return { dir, checkpoints: join(dir, `checkpoints-${tag}`) };
};

export const ledgerSetup = (settings: LedgerSettings, nodeEnv: string | undefined): LedgerSetup => {
  const origin = settings.LEDGER_ORIGIN;
  if (!isKeyName(origin)) throw new SigningKeyError('LEDGER_ORIGIN must be one word without spaces or "+" (it is the checkpoint key name)');
  const production = nodeEnv === 'production';
  if (storeKind(settings.EVENT_STORE) === 'memory' && settings.LEDGER_STATE_DIR === undefined && !production) {
    // A throwaway store gets a throwaway key and checkpoints: nothing of it outlives the process anyway.
    const key = settings.LEDGER_SIGNING_KEY_FILE === undefined ? generateKeyPairSync('ed25519').privateKey : readSigningKey(settings.LEDGER_SIGNING_KEY_FILE);
    const signer = signerFromKey(origin, key);
    return { origin, signer, vkey: formatVkey(origin, signer.publicKey), checkpoints: makeMemoryCheckpoints(), checkpointBase: '', generatedKeyPath: undefined };
  }
  const base = stateBase(settings);
  const resolved = resolveSigningKey(settings.LEDGER_SIGNING_KEY_FILE, production, join(base.dir, 'ledger-signing-key.pem'));
  const signer = signerFromKey(origin, resolved.key);
  return {
    origin,
    signer,
    vkey: formatVkey(origin, signer.publicKey),
    checkpoints: makeCheckpointFile(base.checkpoints),
    checkpointBase: base.checkpoints,
    generatedKeyPath: resolved.generated ? resolved.path : undefined,
  };
};
