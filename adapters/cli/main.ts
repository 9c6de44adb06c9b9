import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventStore } from '../../application/ports/eventStore.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, openEventStore } from '../eventstore/fromUrl.js';
import { packageRoot } from '../system/packageRoot.js';
import type { Io } from './args.js';
import { COMMANDS, HELP, parse, UsageError } from './args.js';
import { runCommand } from './commands.js';
import { runOAuthClients } from './oauthClientCommands.js';
import { isAuditorCommand, runAuditorCommand } from './auditorCommands.js';
import { COMMAND_HELP, READ_ONLY_COMMANDS } from './help.js';

/**
 * `ledger` entry point. Exit codes (docs/operations.md): 0 done, 1 refused by
 * the ledger (or an audit found a violation), 2 bad usage, 3 operating
 * failure (no ledger to read, store unreachable).
 */
export type { Io } from './args.js';

const version = (): string => (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

const connectTimeoutMs = (env: NodeJS.ProcessEnv): number => {
  const raw = Number(env['STORE_CONNECT_TIMEOUT_MS']);
  return Number.isSafeInteger(raw) && raw > 0 ? raw : DEFAULT_CONNECT_TIMEOUT_MS;
};

export const main = async (argv: readonly string[], io: Io): Promise<number> => {
  let store: EventStore | undefined;
  try {
    const parsed = parse(argv);
    if (parsed.flags.version === true) {
      io.out(`ledger ${version()} (node ${process.version})`);
      return 0;
    }
    const commandHelp = parsed.command === undefined ? undefined : COMMAND_HELP[parsed.command];
    if (parsed.flags.help === true && commandHelp !== undefined) {
      io.out(commandHelp);
      return 0;
    }
    if (parsed.flags.help === true || parsed.command === undefined || parsed.command === 'help') {
      const topic = parsed.command === 'help' ? COMMAND_HELP[parsed.positionals[0] ?? ''] : undefined;
      io.out(topic ?? HELP);
      return parsed.command === undefined && parsed.flags.help !== true ? 2 : 0;
    }
    if (!(COMMANDS as readonly string[]).includes(parsed.command)) throw new UsageError(`unknown command "${parsed.command}"`);
    if (parsed.command === 'token') return await runCommand(parsed, undefined, io);
    if (parsed.command === 'oauth-clients') return runOAuthClients(parsed, io, parsed.flags.json === true);
    if (isAuditorCommand(parsed.command)) return await runAuditorCommand(parsed, io);
    const readOnly = READ_ONLY_COMMANDS.has(parsed.command) || (parsed.command === 'roles' && parsed.positionals[0] === 'show');
    store = await openEventStore(io.env['EVENT_STORE'] || undefined, { mustExist: readOnly, connectTimeoutMs: connectTimeoutMs(io.env) });
    return await runCommand(parsed, store, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`ledger: ${error.message}\nRun "ledger ${argv[0] !== undefined && COMMAND_HELP[argv[0]] !== undefined ? `${argv[0]} ` : ''}--help" for usage.`);
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
