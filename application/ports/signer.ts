/**
 * Ed25519 signing and verification, as ports: the algorithm is pure, but keys
 * are secrets read from files, so key handling stays in adapters
 * (adapters/ledger/ed25519.ts) and the application sees only these functions.
 */
export type NoteSigner = {
  /** The key name that goes into signature lines (C2SP signed-note), e.g. the log's origin. */
  readonly name: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** A 64-byte Ed25519 signature of `message`. */
  readonly sign: (message: Uint8Array) => Uint8Array;
};

/** True when `signature` is a valid Ed25519 signature of `message` by the raw 32-byte `publicKey`. */
export type Ed25519Verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
