import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../../adapters/config.js';

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, WS_PORT: 3003, EVENT_STORE: 'sqlite:data/ledger.db', RATE_LIMIT_REQUESTS_PER_MIN: 60 });
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.JWT_SECRET).toBeUndefined();
  });

  it('stops with a message naming each bad variable, never echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', EVENT_STORE: 'mysql://x', JWT_SECRET: 'short-secret', REDIS_URL: 'http://nope' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT must be a whole number');
    expect(message).toContain('EVENT_STORE');
    expect(message).toContain('JWT_SECRET must be at least 32 characters');
    expect(message).not.toContain('short-secret');
    expect(message).toContain('REDIS_URL must use redis: or rediss:');
  });

  it('refuses both a shared secret and a JWKS URL', () => {
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(40), JWT_JWKS_URL: 'https://issuer/jwks' })).toThrow('not both');
  });

  it('accepts KurrentDB and EventStoreDB URLs, plain and +discover, and refuses sqlite: without a path', () => {
    for (const url of ['kurrentdb://db:2113?tls=false', 'kurrentdb+discover://a:2113,b:2113', 'esdb://db:2113?tls=false', 'esdb+discover://a:2113']) {
      expect(loadConfig({ EVENT_STORE: url }).EVENT_STORE).toBe(url);
    }
    expect(() => loadConfig({ EVENT_STORE: 'sqlite:' })).toThrow('EVENT_STORE sqlite: needs a file path');
  });

  it('reads STORE_CONNECT_TIMEOUT_MS, 10 s by default', () => {
    expect(loadConfig({}).STORE_CONNECT_TIMEOUT_MS).toBe(10_000);
    expect(loadConfig({ STORE_CONNECT_TIMEOUT_MS: '2500' }).STORE_CONNECT_TIMEOUT_MS).toBe(2500);
    expect(() => loadConfig({ STORE_CONNECT_TIMEOUT_MS: '0' })).toThrow('STORE_CONNECT_TIMEOUT_MS');
  });

  it('in production, names each missing key on its own line', () => {
    let message = '';
    try {
      loadConfig({ NODE_ENV: 'production' });
    } catch (e) {
      message = (e as Error).message;
    }
    const lines = message.split('\n');
    expect(lines.some((l) => l.includes('JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production'))).toBe(true);
    expect(lines.some((l) => l.includes('PUBLIC_URL is required when NODE_ENV=production'))).toBe(true);
    expect(lines.some((l) => l.includes('LEDGER_SIGNING_KEY_FILE is required when NODE_ENV=production'))).toBe(true);
    const complete = { NODE_ENV: 'production', JWT_JWKS_URL: 'https://issuer.example/jwks', PUBLIC_URL: 'https://ledger.example', LEDGER_SIGNING_KEY_FILE: '/run/secrets/ledger.key' };
    expect(loadConfig(complete).NODE_ENV).toBe('production');
    // Development keeps working with nothing set.
    expect(() => loadConfig({ NODE_ENV: 'development' })).not.toThrow();
  });

  it('never echoes the password of a rejected URL', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://user:hunter2-password@redis:6379' })).toThrow(/REDIS_URL must use redis: or rediss: \(got "http:\/\/user:\*\*\*@redis:6379\/?"\)/);
  });
});
