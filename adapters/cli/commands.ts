import { availableParallelism, loadavg } from 'node:os';
import { runKeys } from './keyCommands.js';
import * as E from 'fp-ts/lib/Either.js';
import { auditLedger, type Violation } from '../../application/audit.js';
import { makeLedger } from '../../application/credits/ledger.js';
import { balanceAt, history } from '../../application/credits/queries.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import type { CreditAccountError } from '../../domain/creditAccount/index.js';
import { mintDevToken } from '../auth/jwtMint.js';
import { hashedReadsOf } from '../eventstore/fromUrl.js';
import { devSecretPath, readDevSecret } from '../system/devSecret.js';
import { systemClock, systemIds } from '../system/clockAndIds.js';
import type { Parsed } from './args.js';
import { duration, instant, integer, positional, required, UsageError } from './args.js';
import { describeError } from './describe.js';
import { makeProgress, noProgress } from './progress.js';
import type { Io } from './args.js';
import { runProjections } from './projectionCommands.js';
import { runRoles } from './roles.js';

const print = (io: Io, json: boolean, value: unknown, human: string) => io.out(json ? JSON.stringify(value) : human);

const answer = <T extends object>(io: Io, json: boolean, result: E.Either<CreditAccountError, T>, human: (v: T) => string): number => {
  if (E.isLeft(result)) {
    const message = describeError(result.left);
    if (json) io.out(JSON.stringify({ ok: false, error: { ...result.left, message } }));
    else io.err(`refused: ${message}`);
    return 1;
  }
  print(io, json, { ok: true, ...result.right }, human(result.right));
  return 0;
};

const dup = (v: { duplicate: boolean }) => (v.duplicate ? ' (repeat: nothing new recorded)' : '');

const violationDetail = (v: Violation): string =>
  v._tag === 'PositionGap' ? `position ${v.position}, expected ${v.expected}` : 'reason' in v ? v.reason : 'rule' in v ? v.rule : v.type;
/** Counts the events first (one plain read) so the bar can show a total, percent and ETA. */
const progressFor = async (store: EventStore, io: Io, json: boolean) => {
  if (!io.isTty || json) return noProgress;
  let total = 0;
  for await (const _ of store.readAll()) total++;
  return makeProgress(total, 'auditing');
};

/**
 * The store's hashing thread speeds the audit up only when a core is free
 * for it: it reads and parses every event a second time, so on a machine
 * whose cores are all busy it costs more than it saves (measured in
 * docs/benchmarks.md, issue 12). The 1-minute load average decides.
 */
const hashThreadHelps = (): boolean => availableParallelism() > 1 && (loadavg()[0] ?? 0) <= availableParallelism() - 1;

const audit = async (p: Parsed, store: EventStore, io: Io, json: boolean): Promise<number> => {
  const at = p.flags.at === undefined ? undefined : instant(p.flags.at, 'at');
  const bar = await progressFor(store, io, json);
  const hashedReads = hashThreadHelps() ? hashedReadsOf(store) : undefined;
  const report = await auditLedger(store, {
    ...(at === undefined ? {} : { at }),
    ...(hashedReads === undefined ? {} : { hashedReads }),
    now: () => performance.now(),
    onProgress: bar.update,
  });
  bar.stop();
  const ok = report.violations.length === 0;
  if (json) io.out(JSON.stringify({ ok, ...report }));
  else {
    // A summary by default: a 300k-event ledger has tens of thousands of accounts.
    if (p.flags.accounts === true) for (const a of report.accounts) io.out(`${a.accountId}\tbalance ${a.balance}\theld ${a.held}`);
    for (const v of report.violations) io.err(`VIOLATION ${v._tag} ${v.streamName}@${v.revision} ${violationDetail(v)}`);
    const balance = report.accounts.reduce((sum, a) => sum + a.balance, 0);
    const held = report.accounts.reduce((sum, a) => sum + a.held, 0);
    io.out(`${report.events} events in ${report.streams} streams, ${report.eventsPerSecond} events/s`);
    io.out(`${report.accounts.length} accounts: balance ${balance}, held ${held}${p.flags.accounts === true ? '' : ' (--accounts for one line each)'}`);
    io.out(`digest ${report.digest} (Merkle root of the first ${report.size} events${at === undefined ? '' : `, committed at or before ${new Date(at).toISOString()}`})`);
    io.out(ok ? 'audit passed' : `audit FAILED: ${report.violations.length} violation(s)`);
  }
  return ok ? 0 : 1;
};

const token = async (p: Parsed, io: Io, json: boolean): Promise<number> => {
  const sub = positional(p, 0, 'user');
  const secret = p.flags.secret ?? (io.env['JWT_SECRET'] || readDevSecret(devSecretPath(io.env['EVENT_STORE'] || undefined)));
  if (secret === undefined || secret.length < 32) throw new UsageError('a JWT secret of at least 32 characters is needed (--secret, JWT_SECRET, or the dev-jwt-secret file a development service writes)');
  const ttlMs = duration(p.flags.ttl ?? '1h', 'ttl');
  const signed = await mintDevToken(secret, sub, {
    expiresInS: Math.max(1, Math.floor(ttlMs / 1000)),
    ...(io.env['JWT_ISSUER'] ? { issuer: io.env['JWT_ISSUER'] } : {}),
    ...(io.env['JWT_AUDIENCE'] ? { audience: io.env['JWT_AUDIENCE'] } : {}),
  });
  print(io, json, { ok: true, token: signed }, signed);
  return 0;
};

export const runCommand = async (p: Parsed, store: EventStore | undefined, io: Io): Promise<number> => {
  const json = p.flags.json === true;
  if (p.command === 'token') return token(p, io, json);
  if (store === undefined) throw new Error('no store');
  const ledger = makeLedger({ store, clock: systemClock, ids: systemIds });
  const by = io.env['USER'] ? `cli:${io.env['USER']}` : 'cli';
  switch (p.command) {
    case 'grant': {
      const accountId = positional(p, 0, 'account');
      const amount = integer(positional(p, 1, 'amount'), 'amount');
      const expiresAt = p.flags.expires === undefined ? undefined : instant(p.flags.expires, 'expires');
      const result = await ledger.grant({
        accountId,
        amount,
        grantId: p.flags.id ?? systemIds.newId(),
        by,
        ...(expiresAt === undefined ? {} : { expiresAt }),
        ...(p.flags.reason === undefined ? {} : { reason: p.flags.reason }),
        ...(p.flags.priority === undefined ? {} : { priority: integer(p.flags.priority, 'priority') }),
      });
      return answer(io, json, result, (v) => `granted ${v.amount} to ${accountId} (grant ${v.grantId}); balance ${v.balance}, available ${v.available}${dup(v)}`);
    }
    case 'deduct': {
      const accountId = positional(p, 0, 'account');
      const amount = integer(positional(p, 1, 'amount'), 'amount');
      const result = await ledger.deduct({
        accountId,
        amount,
        deductionId: required(p.flags.id, 'id'),
        service: p.flags.service ?? 'manual',
        by,
        ...(p.flags.reason === undefined ? {} : { reason: p.flags.reason }),
      });
      return answer(io, json, result, (v) => `deducted ${v.amount} from ${accountId}; balance ${v.balance}, available ${v.available}${dup(v)}`);
    }
    case 'refund': {
      const accountId = positional(p, 0, 'account');
      const amount = integer(positional(p, 1, 'amount'), 'amount');
      const refundId = required(p.flags.id, 'id');
      const reason = p.flags.reason === undefined ? {} : { reason: p.flags.reason };
      // A refund names exactly one charge: a deduction, or a hold's settlement (LLM or video).
      if ((p.flags.deduction === undefined) === (p.flags.settlement === undefined)) throw new UsageError('refund needs exactly one of --deduction ID or --settlement RESERVATION');
      const result =
        p.flags.settlement === undefined
          ? await ledger.refund({ accountId, amount, refundId, deductionId: required(p.flags.deduction, 'deduction'), by, ...reason })
          : await ledger.refundSettlement({ accountId, amount, refundId, reservationId: p.flags.settlement, by, ...reason });
      return answer(io, json, result, (v) => `refunded ${v.amount} to ${accountId}; balance ${v.balance}${dup(v)}`);
    }
    case 'reserve': {
      const accountId = positional(p, 0, 'account');
      const amount = integer(positional(p, 1, 'amount'), 'amount');
      const ttlMs = duration(p.flags.ttl ?? '10m', 'ttl');
      const result = await ledger.reserve({ accountId, amount, reservationId: required(p.flags.id, 'id'), ttlMs, purpose: { service: p.flags.service ?? 'manual' } });
      return answer(io, json, result, (v) => `held ${v.amount} on ${accountId} until ${new Date(v.expiresAt).toISOString()}; available ${v.available}${dup(v)}`);
    }
    case 'settle': {
      const accountId = positional(p, 0, 'account');
      const num = (flag: 'input-tokens' | 'output-tokens') => (p.flags[flag] === undefined ? {} : { [flag === 'input-tokens' ? 'inputTokens' : 'outputTokens']: integer(p.flags[flag], `--${flag}`) });
      const usage = {
        ...(p.flags.provider === undefined ? {} : { provider: p.flags.provider }),
        ...(p.flags.model === undefined ? {} : { model: p.flags.model }),
        ...num('input-tokens'),
        ...num('output-tokens'),
      };
      const result = await ledger.settle({ accountId, reservationId: required(p.flags.id, 'id'), charge: integer(p.flags.charge, '--charge'), usage, priceSheetVersion: p.flags['price-version'] ?? 'manual' });
      return answer(io, json, result, (v) => `settled ${v.reservationId}: charged ${v.charged}, released ${v.released}; balance ${v.balance}${dup(v)}`);
    }
    case 'release': {
      const accountId = positional(p, 0, 'account');
      const result = await ledger.release({ accountId, reservationId: required(p.flags.id, 'id'), reason: p.flags.reason ?? 'released by operator' });
      return answer(io, json, result, (v) => `released ${v.released} from ${v.reservationId}; available ${v.available}${dup(v)}`);
    }
    case 'sweep': {
      const accountId = positional(p, 0, 'account');
      const result = await ledger.sweep(accountId);
      return answer(io, json, result, (v) => `expired ${v.expired.length} hold(s)/grant(s); balance ${v.balance}, available ${v.available}`);
    }
    case 'balance': {
      const accountId = positional(p, 0, 'account');
      const b = p.flags.at === undefined ? await ledger.balance(accountId) : await balanceAt(store, accountId, instant(p.flags.at, 'at'));
      print(io, json, { ok: true, ...b }, `${accountId}: balance ${b.balance}, held ${b.held}, available ${b.available}`);
      return 0;
    }
    case 'history': {
      const accountId = positional(p, 0, 'account');
      const page = await history(store, accountId, {
        ...(p.flags.from === undefined ? {} : { fromRevision: integer(p.flags.from, '--from') }),
        ...(p.flags.limit === undefined ? {} : { limit: integer(p.flags.limit, '--limit') }),
      });
      if (json) io.out(JSON.stringify({ ok: true, ...page }));
      else for (const e of page.items) io.out(`${e.revision}\t${new Date(e.data.at).toISOString()}\t${e.type}\t${JSON.stringify(e.data)}`);
      return 0;
    }
    case 'roles':
      return runRoles(p, store, io, json);
    case 'projections':
      return runProjections(p, store, io, json);
    case 'audit':
      return audit(p, store, io, json);
    case 'keys':
      return runKeys(p, store, io, json);
    default:
      throw new UsageError(`unknown command "${p.command}"`);
  }
};
