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
});
