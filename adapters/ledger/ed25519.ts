import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Ed25519Verify, NoteSigner } from '../../application/ports/signer.js';
import { ConfigError } from '../config.js';

/**
 * Ed25519 keys for the ledger's checkpoints and for witnesses: PEM files
 * (PKCS#8) in, the application's signer and verifier functions out. The
 * private key never leaves this module; nothing here logs it.
 */
/** A ConfigError, so start-up stops with its one-line message. */
export class SigningKeyError extends ConfigError {}

/** The SPKI DER prefix of an Ed25519 public key: the raw 32 bytes follow it. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const rawPublicKey = (key: KeyObject): Uint8Array => {
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return Uint8Array.from(der.subarray(SPKI_ED25519_PREFIX.length));
};

const publicKeyObject = (raw: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(raw)]), format: 'der', type: 'spki' });

export const ed25519Verify: Ed25519Verify = (publicKey, message, signature) => {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
};

export const signerFromKey = (name: string, key: KeyObject): NoteSigner => ({
  name,
  publicKey: rawPublicKey(key),
  sign: (message) => Uint8Array.from(sign(null, message, key)),
});

export const readSigningKey = (path: string): KeyObject => {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SigningKeyError(`cannot read the signing key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new SigningKeyError(`${path} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(`${path} holds a ${key.asymmetricKeyType ?? 'unknown'} key; an Ed25519 key is needed`);
  return key;
};

/** Writes a new Ed25519 key as PKCS#8 PEM, readable by its owner only (0600). */
export const generateSigningKeyFile = (path: string): KeyObject => {
  mkdirSync(dirname(path), { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  // 'wx' fails if another process created the file meanwhile; then we read theirs.
  try {
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return privateKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readSigningKey(path);
    throw error;
  }
};

export type KeyResolution = { readonly key: KeyObject; readonly path: string; readonly generated: boolean };

/**
 * LEDGER_SIGNING_KEY_FILE when set; in production (NODE_ENV=production) its
 * absence is an error; otherwise a development key kept at `devPath`,
 * generated on first use.
 */
export const resolveSigningKey = (file: string | undefined, production: boolean, devPath: string): KeyResolution => {
  if (file !== undefined) return { key: readSigningKey(file), path: file, generated: false };
  if (production) {
    throw new SigningKeyError('LEDGER_SIGNING_KEY_FILE must name an Ed25519 PEM key in production (generate one with: openssl genpkey -algorithm ed25519)');
  }
  if (existsSync(devPath)) return { key: readSigningKey(devPath), path: devPath, generated: false };
  return { key: generateSigningKeyFile(devPath), path: devPath, generated: true };
};
