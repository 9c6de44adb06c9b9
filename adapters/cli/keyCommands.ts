import * as E from 'fp-ts/lib/Either.js';
import type { KeyView } from '../../application/apiKeys/keys.js';
import { makeApiKeys } from '../../application/apiKeys/keys.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import { systemClock, systemIds } from '../system/clockAndIds.js';
import { cryptoSecrets } from '../system/secrets.js';
import type { Io, Parsed } from './args.js';
import { positional, UsageError } from './args.js';

/**
 * `ledger keys create <account> [--limit N] [--period day|month] [--models a,b] [--json]`,
 * `ledger keys list <account>`, `ledger keys revoke <keyId>`. The secret is
 * printed once, by create; it is stored only as a hash and cannot be shown again.
 */
const positiveInt = (value: string, name: string): number => {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive whole number`);
  return n;
};

const periodOf = (value: string | undefined): 'total' | 'day' | 'month' => {
  if (value === undefined) return 'total';
  if (value === 'day' || value === 'month' || value === 'total') return value;
  throw new UsageError('--period must be day, month or total');
};

const line = (k: KeyView): string =>
  [
    k.keyId,
    k.prefix,
    k.status,
    k.limit === null ? 'no limit' : `limit ${k.limit.credits}/${k.limit.period}`,
    `spent ${k.spentInPeriod}`,
    `held ${k.held}`,
    k.models === null ? 'all models' : k.models.join(','),
  ].join('\t');

export const runKeys = async (p: Parsed, store: EventStore, io: Io, json: boolean): Promise<number> => {
  const keys = makeApiKeys({ store, clock: systemClock, ids: systemIds, secrets: cryptoSecrets });
  const action = positional(p, 0, 'create|list|revoke');
  const refused = (tag: string) => {
    if (json) io.out(JSON.stringify({ ok: false, error: { _tag: tag } }));
    else io.err(`refused: ${tag}`);
    return 1;
  };
  switch (action) {
    case 'create': {
      const accountId = positional(p, 1, 'account');
      const models = p.flags.models?.split(',').map((m) => m.trim()).filter((m) => m.length > 0);
      const created = await keys.create({
        accountId,
        ...(p.flags.limit === undefined ? {} : { limit: { credits: positiveInt(p.flags.limit, 'limit'), period: periodOf(p.flags.period) } }),
        ...(models === undefined || models.length === 0 ? {} : { models }),
      });
      if (E.isLeft(created)) return refused(created.left._tag);
      if (json) io.out(JSON.stringify({ ok: true, ...created.right.key, secret: created.right.secret }));
      else {
        io.out(line(created.right.key));
        io.out(`secret (shown once, store it now): ${created.right.secret}`);
      }
      return 0;
    }
    case 'list': {
      const list = await keys.list(positional(p, 1, 'account'));
      if (json) io.out(JSON.stringify({ ok: true, keys: list }));
      else for (const k of list) io.out(line(k));
      return 0;
    }
    case 'revoke': {
      const revoked = await keys.revoke(positional(p, 1, 'keyId'), p.flags.reason ?? 'revoked from the CLI');
      if (E.isLeft(revoked)) return refused(revoked.left._tag);
      if (json) io.out(JSON.stringify({ ok: true, ...revoked.right }));
      else io.out(`revoked ${revoked.right?.keyId ?? ''}`);
      return 0;
    }
    default:
      throw new UsageError('keys takes create, list or revoke');
  }
};
