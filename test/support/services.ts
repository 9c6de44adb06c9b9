import { describe, it } from '@jest/globals';

/**
 * Suites that need Redis or PostgreSQL run when REDIS_URL / DATABASE_URL are
 * set (`.ci/run` sets both). On a laptop without them the suite is skipped
 * with a line saying so; under CI=true a missing service fails the run
 * instead, so nothing is ever silently skipped in CI.
 */
type Service = { readonly name: string; readonly variable: 'REDIS_URL' | 'DATABASE_URL' };
const REDIS: Service = { name: 'Redis', variable: 'REDIS_URL' };
const POSTGRES: Service = { name: 'PostgreSQL', variable: 'DATABASE_URL' };

const inCi = () => process.env['CI'] === 'true';

const describeWith = (service: Service) => (title: string, body: (url: string) => void) => {
  const url = process.env[service.variable];
  if (url !== undefined && url.length > 0) {
    describe(title, () => body(url));
    return;
  }
  if (inCi()) {
    describe(title, () => {
      it(`needs ${service.name}: set ${service.variable}`, () => {
        throw new Error(`${service.variable} is not set but CI=true: ${service.name} suites may not be skipped in CI`);
      });
    });
    return;
  }
  process.stderr.write(`[skipped] ${title}: set ${service.variable} to run it against ${service.name}\n`);
  describe.skip(title, () => body(''));
};

export const describeWithRedis = describeWith(REDIS);
export const describeWithPostgres = describeWith(POSTGRES);

export const redisUrl = (): string | undefined => process.env['REDIS_URL'] || undefined;
export const postgresUrl = (): string | undefined => process.env['DATABASE_URL'] || undefined;

/**
 * For files that share module-level setup across several describes: the
 * `describe` to use (describe.skip on a laptop without the service; under
 * CI=true a missing service throws at load, failing the file) and the URL.
 */
export const postgresOrSkip = (): { readonly describe: typeof describe; readonly url: string; readonly enabled: boolean } => {
  const url = postgresUrl();
  if (url !== undefined) return { describe, url, enabled: true };
  if (inCi()) throw new Error('DATABASE_URL is not set but CI=true: PostgreSQL suites may not be skipped in CI');
  process.stderr.write('[skipped] PostgreSQL suites: set DATABASE_URL to run them\n');
  return { describe: describe.skip as typeof describe, url: '', enabled: false };
};
