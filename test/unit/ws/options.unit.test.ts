import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../adapters/config.js';
import { wsOptionsFrom } from '../../../adapters/ws/options.js';

describe('gateway options', () => {
  const config = loadConfig({ WS_PORT: '0', WS_HEARTBEAT_MS: '1000', RESUME_WINDOW_MS: '0' });

  it('takes the WS_* settings from the config and defaults the finer knobs', () => {
    const options = wsOptionsFrom(config, {});
    expect(options).toMatchObject({ port: 0, heartbeatMs: 1000, maxInflightPerConnection: 8, maxBufferedBytes: 8 * 1024 * 1024, shutdownGraceMs: 10_000 });
    expect(options.resume).toEqual({ windowMs: 0, maxBytesPerUser: 4 * 1024 * 1024, maxRequestsPerUser: 256, maxBytesTotal: 256 * 1024 * 1024 });
  });

  it('reads the finer knobs from the environment', () => {
    expect(wsOptionsFrom(config, { WS_SHUTDOWN_GRACE_MS: '250', RESUME_MAX_REQUESTS_PER_USER: '3' })).toMatchObject({ shutdownGraceMs: 250, resume: { maxRequestsPerUser: 3 } });
  });

  it.each([
    ['WS_MAX_BUFFERED_BYTES', '12'],
    ['WS_SHUTDOWN_GRACE_MS', '-1'],
    ['RESUME_MAX_BYTES_TOTAL', 'lots'],
    ['RESUME_MAX_REQUESTS_PER_USER', '0'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => wsOptionsFrom(config, { [name]: value })).toThrow(name);
  });
});
