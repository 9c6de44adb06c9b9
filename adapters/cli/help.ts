/**
 * `ledger <command> --help`: usage, what the command does and its options.
 * The global help (args.ts HELP) lists the commands in one line each.
 */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  grant: `Usage: ledger grant <account> <amount> [--id ID] [--expires ISO] [--reason TEXT] [--json]

Adds <amount> credits to <account>, opening it if needed.
  --id ID          grant id; repeating a grant with the same id records nothing new (default: a fresh id)
  --expires ISO    the unspent part of the grant expires at this instant
  --reason TEXT    why, kept in the ledger`,
  deduct: `Usage: ledger deduct <account> <amount> --id ID [--service NAME] [--reason TEXT] [--json]

Takes <amount> credits from <account> at once (no hold). Refused when the available balance is too low.
  --id ID          deduction id (required): a repeat with the same id records nothing new
  --service NAME   what the credits paid for (default: manual)`,
  refund: `Usage: ledger refund <account> <amount> --deduction ID --id ID [--reason TEXT] [--json]

Gives back up to the refundable part of an earlier deduction.
  --deduction ID   the deduction refunded (required)
  --id ID          refund id (required)`,
  reserve: `Usage: ledger reserve <account> <amount> --id ID [--ttl 10m] [--service NAME] [--json]

Holds <amount> credits until settled, released or expired.
  --id ID          reservation id (required)
  --ttl DURATION   how long the hold lasts: 30s, 10m, 1h (default 10m)`,
  settle: `Usage: ledger settle <account> --id ID --charge N [--provider P --model M --input-tokens N --output-tokens N --price-version V] [--json]

Charges N credits of a hold and releases the rest.`,
  release: `Usage: ledger release <account> --id ID [--reason TEXT] [--json]

Releases a whole hold without charging.`,
  sweep: `Usage: ledger sweep <account> [--json]

Expires the holds and grants of <account> that are due.`,
  balance: `Usage: ledger balance <account> [--at ISO] [--json]

Balance, held and available credits now, or as they were at an instant. Read-only: never creates a ledger.`,
  history: `Usage: ledger history <account> [--from REV] [--limit N] [--json]

The events of <account> in order. Read-only.`,
  roles: `Usage: ledger roles assign|revoke <user> <role> | ledger roles show <user> [--json]

Changes or shows a user's roles (recorded as cli:$USER). "show" is read-only.`,
  token: `Usage: ledger token <user> [--ttl 1h] [--secret S] [--json]

Mints a development JWT (HS256) for <user>. The secret is --secret, else JWT_SECRET, else the
development secret the service keeps beside its SQLite ledger (dev-jwt-secret).`,
  audit: `Usage: ledger audit [--at ISO] [--accounts] [--json]

Replays every stream, verifies the hash chains and the invariants of every account, and prints a
summary, the digest and the verdict (exit 1 on any violation). Read-only.
  --at ISO         audit the ledger as it was at this instant
  --accounts       also print one line per account (balance, held)
On a terminal a progress bar shows the total, percent, rate and ETA (the events are counted first).`,
};

/** Commands that only read: they open an existing ledger and never create one. */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set(['balance', 'history', 'audit']);
