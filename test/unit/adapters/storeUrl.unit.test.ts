import { describe, expect, it } from '@jest/globals';
import { esdbClientUrl, openEventStore, storeKind } from '../../../adapters/eventstore/fromUrl.js';
import { nativeModuleHint } from '../../../adapters/system/nativeModules.js';
import { StartupError, withoutPassword } from '../../../adapters/system/startupError.js';

describe('EVENT_STORE URLs', () => {
  it('maps the KurrentDB schemes onto the ones @eventstore/db-client parses', () => {
    expect(esdbClientUrl('kurrentdb://db:2113?tls=false')).toBe('esdb://db:2113?tls=false');
    expect(esdbClientUrl('kurrentdb+discover://a:2113,b:2113')).toBe('esdb+discover://a:2113,b:2113');
    expect(esdbClientUrl('kurrent://db:2113')).toBe('esdb://db:2113');
    expect(esdbClientUrl('esdb+discover://a:2113')).toBe('esdb+discover://a:2113');
    expect(storeKind('kurrentdb+discover://a:2113')).toBe('esdb');
    expect(() => storeKind('mysql://x')).toThrow('must be memory:');
  });

  it('hides passwords', () => {
    expect(withoutPassword('postgres://ledger:s3cret@db:5432/ledger')).toBe('postgres://ledger:***@db:5432/ledger');
    expect(withoutPassword('sqlite:data/ledger.db')).toBe('sqlite:data/ledger.db');
  });

  it('a read-only open of a SQLite file that does not exist fails instead of creating it', async () => {
    const path = `/tmp/ledger-missing-${process.pid}/ledger.db`;
    await expect(openEventStore(`sqlite:${path}`, { mustExist: true })).rejects.toThrow(new StartupError(`EVENT_STORE sqlite:${path}: no ledger at ${path} (nothing recorded yet, or EVENT_STORE points elsewhere)`));
  });
});

describe('native module built for another Node', () => {
  const abiError = new Error(
    "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 137. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
  );

  it('names both ABIs and a rebuild against the running Node headers', () => {
    const hint = nativeModuleHint(abiError, '/usr/bin/node', 'v24.11.0');
    expect(hint).toContain('NODE_MODULE_VERSION 115; Node v24.11.0 needs 137');
    // /usr/include/node exists on this machine's Node; elsewhere the hint drops the nodedir.
    expect(hint).toMatch(/npm rebuild better-sqlite3 --nodedir="\/usr"|npm config delete nodedir && npm rebuild better-sqlite3/);
    expect(nativeModuleHint(abiError, '/nowhere/bin/node', 'v24.11.0')).toContain('npm config delete nodedir && npm rebuild better-sqlite3');
  });

  it('names the rebuild when the native build is missing altogether', () => {
    expect(nativeModuleHint(new Error('Could not locate the bindings file. Tried:\n → /app/node_modules/better-sqlite3/build/better_sqlite3.node'), '/usr/bin/node', 'v22.12.0')).toBe(
      'better-sqlite3 has no native build (installed with --ignore-scripts, or its build failed). Build it for Node v22.12.0: npm rebuild better-sqlite3',
    );
  });

  it('ignores other errors', () => {
    expect(nativeModuleHint(new Error('SQLITE_CANTOPEN'))).toBeUndefined();
  });
});
