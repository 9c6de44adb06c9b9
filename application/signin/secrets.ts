import { createHash } from 'node:crypto';

/**
 * Secrets of the sign-in flow. Verification codes, session tokens, OAuth
 * states, nonces and PKCE verifiers are 256 random bits, base64url (43
 * characters, which is also inside PKCE's 43..128 verifier length). Only their
 * SHA-256 digests are stored.
 */
/** The port through which randomness reaches sign-in (adapters/system/secrets.ts implements it). */
export type Secrets = {
  /** A fresh random secret, base64url. */
  readonly random: () => string;
};

/** SHA-256, lowercase hex: how codes and tokens are stored and how the Session events name them. */
export const sha256Hex = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** The PKCE S256 challenge of a verifier (RFC 7636 4.2). */
export const pkceChallenge = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url');

/** A shape check before any lookup: our secrets are 43 base64url characters; anything else is unknown. */
export const looksLikeSecret = (value: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(value);
