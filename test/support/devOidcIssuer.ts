import { startOidcIssuer } from './oidcIssuer.js';

/**
 * `npm run dev:oidc`: the test OpenID issuer as a stand-in for Google, to try
 * the Sora 2 sign-in on one machine (README, "Try Sora 2 locally"). It signs
 * in one fixed user without asking anything and prints the variables the
 * service needs. Development only: anyone who can reach it is that user.
 */
const port = process.env['PORT'] ?? '3000';
const publicUrl = (process.env['PUBLIC_URL'] ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
const clientId = 'ledger-dev-client';
const clientSecret = 'ledger-dev-client-secret';
const issuer = await startOidcIssuer({
  clientId,
  clientSecret,
  redirectUris: [`${publicUrl}/api/sora2/auth/callback`],
  user: { sub: process.env['DEV_OIDC_SUB'] ?? '109876543210', email: 'dev@example.com', emailVerified: true },
});
process.stdout.write(
  [
    `test OpenID issuer at ${issuer.issuer} (signs everyone in as dev@example.com); start the service with:`,
    '',
    `  GOOGLE_ISSUER=${issuer.issuer} GOOGLE_CLIENT_ID=${clientId} GOOGLE_CLIENT_SECRET=${clientSecret} PUBLIC_URL=${publicUrl} PORT=${port} npm start`,
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n'),
);
const stop = () => {
  void issuer.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
