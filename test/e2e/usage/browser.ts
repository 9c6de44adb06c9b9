import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/**
 * Tools some usage tests need from the system (Debian's chromium and
 * prometheus packages, installed by .ci/run). Outside CI a missing tool
 * skips its test with a printed line; under CI=true it fails the test.
 */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const hasChromium = (): boolean => existsSync(CHROMIUM);

export const promtoolPath = (): string | undefined => {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
};

export const inCi = (): boolean => process.env['CI'] === 'true';
