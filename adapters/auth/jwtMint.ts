import { SignJWT } from 'jose';

export type MintOptions = {
  /** Lifetime in seconds. Default one hour. */
  readonly expiresInS?: number;
  readonly roles?: readonly string[];
  readonly issuer?: string;
  readonly audience?: string | readonly string[];
  /** Extra claims (they cannot override sub, iat, exp). */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** The clock (ms since epoch). Default Date.now. */
  readonly now?: () => number;
};

/**
 * Mints an HS256 token for development and tests (the CLI's `mint-token`).
 * It always carries `exp`, because the verifier refuses tokens without one.
 */
export const mintDevToken = async (secret: string, sub: string, options: MintOptions = {}): Promise<string> => {
  const key = new TextEncoder().encode(secret);
  if (key.length < 32) throw new RangeError('JWT secret must be at least 32 bytes');
  if (sub.trim().length === 0) throw new RangeError('sub must not be empty');
  const expiresInS = options.expiresInS ?? 3600;
  if (!Number.isSafeInteger(expiresInS) || expiresInS <= 0) throw new RangeError('expiresInS must be a positive integer');
  const nowS = Math.floor((options.now ?? Date.now)() / 1000);
  let jwt = new SignJWT({
    ...options.claims,
    ...(options.roles === undefined ? {} : { roles: [...options.roles] }),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + expiresInS);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) {
    jwt = jwt.setAudience(typeof options.audience === 'string' ? options.audience : [...options.audience]);
  }
  return jwt.sign(key);
};
