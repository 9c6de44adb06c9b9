import * as E from 'fp-ts/lib/Either.js';
import type { Hash } from '../merkle/hashing.js';
import type { Ed25519Verify, NoteSigner } from '../ports/signer.js';
import { signNote, verifyNote, type VerifierKey } from './note.js';

/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed
 * statement "the log named <origin> has <size> entries and this root hash".
 *
 *   <origin>\n<decimal size>\n<base64 root hash>\n
 */
export type Checkpoint = { readonly origin: string; readonly size: number; readonly root: Hash };

export const checkpointText = (c: Checkpoint): string => `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n`;

export const signCheckpoint = (c: Checkpoint, signer: NoteSigner): string => signNote(checkpointText(c), signer);

export const parseCheckpointText = (text: string): E.Either<string, Checkpoint> => {
  const lines = text.split('\n');
  if (lines.length < 4) return E.left('a checkpoint has an origin, a size and a root hash');
  const [origin, size, root] = lines as [string, string, string];
  if (origin.length === 0) return E.left('the checkpoint has no origin');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) return E.left('the checkpoint size is not a decimal number');
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32 || hash.toString('base64') !== root) return E.left('the checkpoint root is not a base64 SHA-256 hash');
  return E.right({ origin, size: Number(size), root: Uint8Array.from(hash) });
};

/** Checks the log's signature, then reads the checkpoint (and checks its origin is the key's, as C2SP asks). */
export const openCheckpoint = (note: string, key: VerifierKey, verify: Ed25519Verify, origin?: string): E.Either<string, Checkpoint> => {
  const text = verifyNote(note, key, verify);
  if (E.isLeft(text)) return text;
  const checkpoint = parseCheckpointText(text.right);
  if (E.isLeft(checkpoint)) return checkpoint;
  if (origin !== undefined && checkpoint.right.origin !== origin) return E.left(`the checkpoint is for log "${checkpoint.right.origin}", not "${origin}"`);
  return checkpoint;
};
