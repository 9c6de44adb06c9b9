import type { OAuthClient } from '../../application/signin/oauthClient.js';
import { makeOidcClient } from './oidcClient.js';

/**
 * Google sign-in for Sora 2: the OIDC client pointed at GOOGLE_ISSUER (Google's
 * by default) with GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET. The redirect URI is
 * PUBLIC_URL + /api/sora2/auth/callback and must be registered with Google.
 * Undefined when the client id or secret is missing: sign-in is then off and
 * the routes answer 503.
 */
export const googleIssuer = 'https://accounts.google.com';
export const sora2CallbackPath = '/api/sora2/auth/callback';

export type GoogleConfig = {
  readonly GOOGLE_CLIENT_ID?: string;
  readonly GOOGLE_CLIENT_SECRET?: string;
  readonly GOOGLE_ISSUER: string;
  readonly PUBLIC_URL?: string;
  readonly PORT: number;
};

export const publicBaseUrl = (config: Pick<GoogleConfig, 'PUBLIC_URL' | 'PORT'>): string =>
  (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');

export const googleOAuthFromConfig = (config: GoogleConfig, now?: () => number, callbackPath: string = sora2CallbackPath): OAuthClient | undefined => {
  if (config.GOOGLE_CLIENT_ID === undefined || config.GOOGLE_CLIENT_SECRET === undefined) return undefined;
  const issuer = config.GOOGLE_ISSUER.replace(/\/+$/, '');
  return makeOidcClient({
    issuer,
    clientId: config.GOOGLE_CLIENT_ID,
    clientSecret: config.GOOGLE_CLIENT_SECRET,
    redirectUri: `${publicBaseUrl(config)}${callbackPath}`,
    ...(issuer === googleIssuer ? { extraAuthorizationParams: { prompt: 'select_account' } } : {}),
    ...(now === undefined ? {} : { now }),
  });
};
