import { cpus, totalmem } from 'node:os';

/** Helpers shared by the benchmark scripts: medians, tables, the machine line. */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

export const machine = (): string => {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}`;
};

export const table = (headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string =>
  [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

/** A positive number given as `--name value` on the command line, or the fallback. */
export const numberArg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

/** The HS256 secret of every benchmark's gateway process (and the tokens its clients mint). */
export const BENCH_SECRET = 'bench-secret-'.padEnd(48, 'x');

/**
 * Environment of a gateway process the benchmarks start: a store, the OpenAI
 * provider pointed at a fixture, ephemeral ports, limits out of the way, and
 * `users` bench accounts granted at start.
 */
export const benchGatewayEnv = (store: string, fixtureBaseURL: string, users: number): Record<string, string> => ({
  EVENT_STORE: store,
  WS_PORT: '0',
  PORT: '0',
  HOST: '127.0.0.1',
  JWT_SECRET: BENCH_SECRET,
  OPENAI_API_KEY: 'test',
  OPENAI_BASE_URL: fixtureBaseURL,
  LOG_LEVEL: 'warn',
  LLM_MAX_CONCURRENT: '512',
  LLM_MAX_QUEUED: '512',
  RATE_LIMIT_REQUESTS_PER_MIN: '1000000',
  RATE_LIMIT_TOKENS_PER_MIN: '1000000000',
  BENCH_USERS: String(users),
});
