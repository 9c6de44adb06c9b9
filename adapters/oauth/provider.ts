/**
 * oidc-provider, loaded once. On import it warns (console.warn) on every Node
 * release older than 22 ("Unsupported runtime"). This project supports Node
 * 20.19+ and runs the authorization server's tests on it, so that one message
 * is filtered while the module loads: start-up output stays one line per
 * problem (issue 13), and any other warning still reaches stderr.
 */
import type * as OidcProvider from 'oidc-provider';

const original = console.warn;
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime')) return;
  original(...args);
};
let loaded: typeof OidcProvider;
try {
  loaded = await import('oidc-provider');
} finally {
  console.warn = original;
}

export const Provider = loaded.default;
export type Provider = InstanceType<typeof loaded.default>;
export const errors = loaded.errors;
