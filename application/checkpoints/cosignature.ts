import * as E from 'fp-ts/lib/Either.js';
import type { Ed25519Verify, NoteSigner } from '../ports/signer.js';
import { ALG_COSIGNATURE_V1, keyId, parseNote, signatureLine, type VerifierKey } from './note.js';

/**
 * C2SP tlog-cosignature v1 (https://c2sp.org/tlog-cosignature): a witness
 * signs, with algorithm byte 0x04,
 *
 *   "cosignature/v1\ntime <unix seconds>\n" || checkpoint text
 *
 * and appends to the note the line "— <name> base64(key id || 8-byte
 * big-endian timestamp || signature)". It states "I saw this checkpoint at
 * that time, and it is consistent with every one I cosigned before".
 */
const encoder = new TextEncoder();

const message = (checkpointText: string, timestampS: number) => encoder.encode(`cosignature/v1\ntime ${timestampS}\n${checkpointText}`);

const timestampBytes = (seconds: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(seconds));
  return out;
};

/** The cosignature line for `checkpointText` by `witness` at `timestampS`. */
export const cosignatureLine = (checkpointText: string, witness: NoteSigner, timestampS: number): string => {
  const signature = witness.sign(message(checkpointText, timestampS));
  return signatureLine(witness.name, keyId(witness.name, ALG_COSIGNATURE_V1, witness.publicKey), Uint8Array.of(...timestampBytes(timestampS), ...signature));
};

/** Adds the witness's cosignature line to a signed checkpoint note. */
export const cosignNote = (note: string, checkpointText: string, witness: NoteSigner, timestampS: number): string =>
  `${note}${cosignatureLine(checkpointText, witness, timestampS)}`;

/** The time (s) the witness with `key` cosigned the note; or why it did not. */
export const verifyCosignature = (note: string, key: VerifierKey, verify: Ed25519Verify): E.Either<string, number> => {
  if (key.algorithm !== ALG_COSIGNATURE_V1) return E.left('the key is not a cosignature key');
  const parsed = parseNote(note);
  if (E.isLeft(parsed)) return parsed;
  for (const s of parsed.right.signatures) {
    if (s.name !== key.name || Buffer.compare(Buffer.from(s.keyId), Buffer.from(key.keyId)) !== 0 || s.signature.length !== 72) continue;
    const seconds = Number(new DataView(s.signature.buffer, s.signature.byteOffset, 8).getBigUint64(0));
    if (verify(key.publicKey, message(parsed.right.text, seconds), s.signature.subarray(8))) return E.right(seconds);
  }
  return E.left(`no valid cosignature by ${key.name}`);
};
