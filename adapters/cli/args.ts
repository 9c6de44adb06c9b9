import { parseArgs } from 'node:util';

/** Where the CLI writes, and what it reads from its environment (tests pass their own). */
export type Io = {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly isTty: boolean;
  readonly env: NodeJS.ProcessEnv;
};

/** Every command `runCommand` knows; anything else is a usage error before any store is opened. */
export const COMMANDS = ['grant', 'deduct', 'refund', 'reserve', 'settle', 'release', 'sweep', 'balance', 'history', 'roles', 'token', 'audit', 'key', 'checkpoint', 'verify', 'prove', 'witness', 'oauth-clients', 'keys', 'projections'] as const;

/** A usage error: printed with the help text, exit code 2. */
export class UsageError extends Error {}

export const HELP = `ledger: operate and audit the credit ledger

Usage: ledger <command> [arguments] [--json]
       ledger <command> --help      usage and options of one command
       ledger --version

Commands
  grant <account> <amount> [--id ID] [--expires ISO] [--priority N] [--reason TEXT]
  deduct <account> <amount> --id ID [--service NAME] [--reason TEXT]
  refund <account> <amount> (--deduction ID | --settlement RESERVATION) --id ID [--reason TEXT]
  reserve <account> <amount> --id ID [--ttl 10m] [--service NAME]
  settle <account> --id ID --charge N [--provider P --model M --input-tokens N --output-tokens N --price-version V]
  release <account> --id ID [--reason TEXT]
  sweep <account>                 expire due holds and grants of one account
  balance <account> [--at ISO]    balance now, or as it was at an instant
  history <account> [--from REV] [--limit N]
  roles assign|revoke <user> <role>
  token <user> [--ttl 1h] [--secret S]   mint a dev JWT (HS256 with JWT_SECRET)
  audit [--at ISO] [--accounts]   replay everything, verify hash chains and invariants
  keys create <account> [--limit N] [--period day|month] [--models a,b]   prints the secret once
  keys list <account>             keys of an account with their spend and holds
  keys revoke <keyId> [--reason TEXT]
  projections rebuild|status      replay the usage projection from 0 / show its position and lag
  oauth-clients add <name> --redirect-uri URI[,URI]   a static OAuth client (a GPT); prints its secret
  oauth-clients list | remove <clientId>             (file: OAUTH_CLIENTS_FILE, default data/oauth-clients.json)
  key --public                    the checkpoint verifier key (C2SP vkey)
  checkpoint [--out FILE]         sign and print the log's checkpoint (FILE.leaves beside it)
  verify --checkpoint FILE --key VKEY   signature, then: today's log extends the checkpoint
  verify --proof FILE --key VKEY        check an inclusion proof offline
  prove <position> [--size N] [--out FILE]   inclusion proof of one event, with a signed checkpoint
  witness --key KEY --state DIR [--log-key VKEY] [--name N] <url>   cosign consistent checkpoints

The store comes from EVENT_STORE (default sqlite:data/ledger.db; also memory:,
postgres://..., kurrentdb://...). Read commands (balance, history, audit) never
create a ledger. Exit codes: 0 done, 1 refused or audit failed, 2 bad usage,
3 operating failure (no ledger, store unreachable).`;

const options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  accounts: { type: 'boolean' },
  id: { type: 'string' },
  expires: { type: 'string' },
  reason: { type: 'string' },
  service: { type: 'string' },
  deduction: { type: 'string' },
  settlement: { type: 'string' },
  priority: { type: 'string' },
  ttl: { type: 'string' },
  charge: { type: 'string' },
  provider: { type: 'string' },
  model: { type: 'string' },
  'input-tokens': { type: 'string' },
  'output-tokens': { type: 'string' },
  'price-version': { type: 'string' },
  at: { type: 'string' },
  from: { type: 'string' },
  limit: { type: 'string' },
  secret: { type: 'string' },
  'redirect-uri': { type: 'string' },
  public: { type: 'boolean' },
  out: { type: 'string' },
  checkpoint: { type: 'string' },
  key: { type: 'string' },
  proof: { type: 'string' },
  size: { type: 'string' },
  state: { type: 'string' },
  'log-key': { type: 'string' },
  name: { type: 'string' },
  period: { type: 'string' },
  models: { type: 'string' },
} as const;

export type Parsed = {
  readonly command: string | undefined;
  readonly positionals: readonly string[];
  readonly flags: { readonly [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };
};

export const parse = (argv: readonly string[]): Parsed => {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    const [command, ...rest] = positionals;
    return { command, positionals: rest, flags: values as Parsed['flags'] };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
};

export const positional = (p: Parsed, index: number, name: string): string => {
  const value = p.positionals[index];
  if (value === undefined || value.length === 0) throw new UsageError(`missing <${name}>`);
  return value;
};

/** An integer amount; the domain judges zero/negative, this only refuses what is not a number at all. */
export const integer = (raw: string | undefined, name: string): number => {
  if (raw === undefined) throw new UsageError(`missing ${name}`);
  if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) throw new UsageError(`${name} must be a number, got "${raw}"`);
  return Number(raw);
};

export const required = (raw: string | undefined, flag: string): string => {
  if (raw === undefined || raw.length === 0) throw new UsageError(`missing --${flag}`);
  return raw;
};

export const instant = (raw: string, flag: string): number => {
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new UsageError(`--${flag} must be an ISO-8601 instant, got "${raw}"`);
  return ms;
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Durations like 500ms, 30s, 10m, 1h, 2d. */
export const duration = (raw: string, flag: string): number => {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(raw.trim());
  if (match === null) throw new UsageError(`--${flag} must look like 30s, 10m or 1h, got "${raw}"`);
  return Number(match[1]) * (UNITS[match[2] as string] as number);
};
