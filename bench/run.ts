import { spawnSync } from 'node:child_process';
import { machine } from './shared.js';

/**
 * `npm run bench`: every benchmark, one child process each (so one's memory
 * and threads do not disturb the next), in a fixed order. Each prints a
 * markdown section with its ceiling measured in the same run; the results
 * are recorded in docs/benchmarks.md. Pass names to run a subset:
 * `npm run bench -- ledger audit`.
 */
const suites: readonly { readonly name: string; readonly script: string; readonly args?: readonly string[] }[] = [
  { name: 'ledger', script: 'bench/ledger/commands.ts' },
  { name: 'append', script: 'bench/eventstore/appendBench.ts' },
  { name: 'audit', script: 'bench/ledger/auditReplay.ts' },
  { name: 'merkle', script: 'bench/ledger/merkleAudit.ts' },
  { name: 'llm', script: 'bench/llm/chunkOverhead.ts' },
  { name: 'ttfc', script: 'bench/ws/ttfc.ts' },
  { name: 'http', script: 'bench/compat/httpTtfc.ts' },
  { name: 'connections', script: 'bench/ws/connections.ts' },
  { name: 'usage', script: 'bench/projections/usageBench.ts' },
  { name: 'peer', script: 'bench/peer/sideBySide.ts' },
];

const wanted = process.argv.slice(2);
console.log(`# Benchmark run ${new Date().toISOString()}\n\nMachine: ${machine()}\n`);
let failed = 0;
for (const suite of suites) {
  if (wanted.length > 0 && !wanted.includes(suite.name)) continue;
  process.stderr.write(`== ${suite.name}: ${suite.script}\n`);
  const result = spawnSync(process.execPath, ['--import', './test/support/swcRegister.mjs', suite.script, ...(suite.args ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  console.log(result.stdout);
  if (result.status !== 0) {
    failed++;
    console.log(`(${suite.name} exited with ${result.status ?? result.signal})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
