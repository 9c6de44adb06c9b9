import { pathToFileURL } from 'node:url';
import type { EventStore } from '../../application/ports/eventStore.js';
import { openEventStore } from '../eventstore/fromUrl.js';
import type { Io } from './args.js';
import { COMMANDS, HELP, parse, UsageError } from './args.js';
import { runCommand } from './commands.js';
import { runOAuthClients } from './oauthClientCommands.js';
import { isAuditorCommand, runAuditorCommand } from './auditorCommands.js';

/**
 * `ledger` entry point. Exit codes: 0 done, 1 refused by the ledger (or an
 * audit found a violation), 2 bad usage, 3 operating failure (store down).
 */
export type { Io } from './args.js';

export const main = async (argv: readonly string[], io: Io): Promise<number> => {
  let store: EventStore | undefined;
  try {
    const parsed = parse(argv);
    if (parsed.flags.help === true || parsed.command === undefined || parsed.command === 'help') {
      io.out(HELP);
      return parsed.command === undefined && parsed.flags.help !== true ? 2 : 0;
    }
    if (!(COMMANDS as readonly string[]).includes(parsed.command)) throw new UsageError(`unknown command "${parsed.command}"`);
    if (parsed.command === 'token') return await runCommand(parsed, undefined, io);
    if (parsed.command === 'oauth-clients') return runOAuthClients(parsed, io, parsed.flags.json === true);
    if (isAuditorCommand(parsed.command)) return await runAuditorCommand(parsed, io);
    store = await openEventStore(io.env['EVENT_STORE'] || undefined);
    return await runCommand(parsed, store, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`ledger: ${error.message}\nRun "ledger --help" for usage.`);
      return 2;
    }
    io.err(`ledger: ${(error as Error).message}`);
    return 3;
  } finally {
    await store?.close();
  }
};

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntryPoint) {
  const code = await main(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTty: process.stderr.isTTY === true,
    env: process.env,
  });
  process.exitCode = code;
}
