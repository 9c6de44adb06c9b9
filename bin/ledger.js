#!/usr/bin/env node
// The `ledger` command. It runs the compiled CLI from dist/, which `npm ci`
// builds (the `prepare` script); after changing sources, run `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/adapters/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('ledger: dist/ is missing; run "npm run build" first\n');
  process.exit(3);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTty: process.stderr.isTTY === true,
  env: process.env,
});
