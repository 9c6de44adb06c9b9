import { createHash } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { Ed25519Verify, NoteSigner } from '../ports/signer.js';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and
 * verifier keys in the vkey format:
 *
 *   note      = text "\n" signature-line+        (text ends with "\n")
 *   signature = "— " name " " base64(key id (4 bytes) || signature)
 *   key id    = SHA-256(name || "\n" || algorithm byte || public key)[:4]
 *   vkey      = name "+" hex(key id) "+" base64(algorithm byte || public key)
 *
 * Algorithm byte 0x01 is Ed25519 over the note text; 0x04 is the timestamped
 * Ed25519 cosignature of C2SP tlog-cosignature (see cosignature.ts).
 */
export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;

const EM_DASH = '\u2014';
const MAX_NOTE_BYTES = 1 << 16;
const MAX_SIGNATURES = 100;

export type NoteSignature = { readonly name: string; readonly keyId: Uint8Array; readonly signature: Uint8Array };
export type Note = { readonly text: string; readonly signatures: readonly NoteSignature[] };
export type VerifierKey = { readonly name: string; readonly keyId: Uint8Array; readonly algorithm: number; readonly publicKey: Uint8Array };

const encoder = new TextEncoder();

export const isKeyName = (name: string): boolean => name.length > 0 && name.length <= 256 && !/[\s+]/u.test(name);

export const keyId = (name: string, algorithm: number, publicKey: Uint8Array): Uint8Array =>
  Uint8Array.from(createHash('sha256').update(name).update('\n').update(Uint8Array.of(algorithm)).update(publicKey).digest().subarray(0, 4));

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export const formatVkey = (name: string, publicKey: Uint8Array, algorithm = ALG_ED25519): string =>
  `${name}+${Buffer.from(keyId(name, algorithm, publicKey)).toString('hex')}+${Buffer.from(Uint8Array.of(algorithm, ...publicKey)).toString('base64')}`;

export const parseVkey = (text: string): E.Either<string, VerifierKey> => {
  // The base64 key may itself contain "+": only the first two separate fields.
  const trimmed = text.trim();
  const first = trimmed.indexOf('+');
  const second = first < 0 ? -1 : trimmed.indexOf('+', first + 1);
  if (second < 0) return E.left('a verifier key is name+keyid+base64key');
  const [name, hexId, b64] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  if (!isKeyName(name) || !/^[0-9a-f]{8}$/.test(hexId)) return E.left('the verifier key has a bad name or key id');
  const raw = Buffer.from(b64, 'base64');
  if (raw.toString('base64') !== b64) return E.left('the verifier key is not base64');
  const algorithm = raw[0];
  if (raw.length !== 33 || (algorithm !== ALG_ED25519 && algorithm !== ALG_COSIGNATURE_V1)) return E.left('the verifier key is not an Ed25519 key');
  const publicKey = Uint8Array.from(raw.subarray(1));
  const id = keyId(name, algorithm, publicKey);
  if (Buffer.from(id).toString('hex') !== hexId) return E.left('the verifier key id does not match its key');
  return E.right({ name, keyId: id, algorithm, publicKey });
};

export const signatureLine = (name: string, id: Uint8Array, signature: Uint8Array): string =>
  `${EM_DASH} ${name} ${Buffer.from(Uint8Array.of(...id, ...signature)).toString('base64')}\n`;

/** Signs `text` (which must end in a newline) and returns the whole note. */
export const signNote = (text: string, signer: NoteSigner): string => {
  if (!text.endsWith('\n')) throw new Error('note text must end with a newline');
  const signature = signer.sign(encoder.encode(text));
  return `${text}\n${signatureLine(signer.name, keyId(signer.name, ALG_ED25519, signer.publicKey), signature)}`;
};

export const parseNote = (note: string): E.Either<string, Note> => {
  if (encoder.encode(note).length > MAX_NOTE_BYTES) return E.left('the note is too large');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return E.left('the note has no signature block');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return E.left('the note has too many signatures');
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (match === null) return E.left(`malformed signature line "${line.slice(0, 80)}"`);
    const raw = Buffer.from(match[2] as string, 'base64');
    if (raw.length < 5) return E.left('a signature line is too short');
    signatures.push({ name: match[1] as string, keyId: Uint8Array.from(raw.subarray(0, 4)), signature: Uint8Array.from(raw.subarray(4)) });
  }
  return E.right({ text, signatures });
};

/** The note's text if `key` signed it (Ed25519, algorithm 0x01); otherwise why not. */
export const verifyNote = (note: string, key: VerifierKey, verify: Ed25519Verify): E.Either<string, string> => {
  if (key.algorithm !== ALG_ED25519) return E.left('the key is not an Ed25519 note key');
  const parsed = parseNote(note);
  if (E.isLeft(parsed)) return parsed;
  const mine = parsed.right.signatures.filter((s) => s.name === key.name && sameBytes(s.keyId, key.keyId));
  if (mine.length === 0) return E.left(`the note carries no signature by ${key.name}`);
  const message = encoder.encode(parsed.right.text);
  return mine.some((s) => s.signature.length === 64 && verify(key.publicKey, message, s.signature))
    ? E.right(parsed.right.text)
    : E.left(`the signature by ${key.name} does not verify: the note was altered or signed by another key`);
};
