import { randomBytes } from 'node:crypto';
import type { Secrets } from '../../application/signin/secrets.js';

/** 256 random bits from the OS, base64url: verification codes, session tokens, OAuth state, nonces, PKCE verifiers. */
export const cryptoSecrets: Secrets = { random: () => randomBytes(32).toString('base64url') };
