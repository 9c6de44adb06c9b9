import * as E from 'fp-ts/lib/Either.js';
import { sameHash, toBase64, type Hash } from '../merkle/hashing.js';
import { verifyConsistency } from '../merkle/verify.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * The witness's rule (C2SP tlog-witness): cosign a checkpoint only if it is
 * a consistent extension of the last one this witness cosigned for the same
 * log. A smaller size is a rollback, the same size with another root or a
 * failing consistency proof is a fork; both are refused, and the state is
 * not moved, so a log that showed a fork once can never get a cosignature
 * for either branch past the point it already proved.
 */
export type WitnessState = { readonly origin: string; readonly size: number; readonly root: string };

export const stateOf = (c: Checkpoint): WitnessState => ({ origin: c.origin, size: c.size, root: toBase64(c.root) });

export const decideCosign = (last: WitnessState | undefined, next: Checkpoint, proof: readonly Hash[]): E.Either<string, WitnessState> => {
  if (last === undefined) return E.right(stateOf(next));
  if (last.origin !== next.origin) return E.left(`refused: the checkpoint is for log "${next.origin}", this witness follows "${last.origin}"`);
  const lastRoot = Uint8Array.from(Buffer.from(last.root, 'base64'));
  if (next.size < last.size) return E.left(`refused: rollback, the log now has ${next.size} entries but this witness cosigned ${last.size}`);
  if (next.size === last.size) {
    return sameHash(lastRoot, next.root) ? E.right(last) : E.left(`refused: fork, a different root for the same size ${next.size}`);
  }
  return verifyConsistency(last.size, next.size, lastRoot, next.root, proof)
    ? E.right(stateOf(next))
    : E.left(`refused: fork, size ${next.size} is not a consistent extension of the cosigned size ${last.size} (consistency proof fails)`);
};
