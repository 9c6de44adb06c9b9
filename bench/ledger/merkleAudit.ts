import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLedger } from '../../application/audit.js';
import { eventLeafHash } from '../../application/merkle/eventLeaf.js';
import { makeLedgerLog } from '../../application/merkle/ledgerLog.js';
import { makeMerkleTree } from '../../application/merkle/tree.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import { makeSqliteEventStore } from '../../adapters/eventstore/sqlite/index.js';
import { signerFromKey } from '../../adapters/ledger/ed25519.js';
import { runLoad } from '../eventstore/workload.js';
import { fmt, machine, median, table } from '../shared.js';
import { populate } from './auditReplay.js';

/**
 * The provable ledger's costs on SQLite (issue 12):
 * - the audit with full Merkle verification (chain + rules + RFC 9162 tree of
 *   every event) beside a plain read of the same events and beside the tree
 *   alone (leaf hashing + tree);
 * - append throughput with and without the ledger log follower hashing
 *   every committed event beside the writers.
 */
const EVENTS = Number(process.env['MERKLE_EVENTS'] ?? 300_000);
const RUNS = Number(process.env['RUNS'] ?? 3);
const APPEND_MS = Number(process.env['APPEND_MS'] ?? 5_000);

const time = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

const rate = (ms: readonly number[]) => (EVENTS * 1000) / median(ms);

const auditRates = async (store: EventStore) => {
  await populate(store, EVENTS);
  const read: number[] = [];
  const merkle: number[] = [];
  const audit: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    read.push(await time(async () => {
      for await (const _ of store.readAll()) void _;
    }));
    merkle.push(await time(async () => {
      const tree = makeMerkleTree();
      for await (const e of store.readAll()) tree.append(eventLeafHash(e));
    }));
    audit.push(await time(async () => {
      const report = await auditLedger(store);
      if (report.violations.length > 0) throw new Error('violations in generated data');
    }));
  }
  return { read: rate(read), merkle: rate(merkle), audit: rate(audit) };
};

const appendRate = async (path: string, follow: boolean) => {
  const store = await makeSqliteEventStore({ path, synchronous: 'NORMAL' });
  const log = makeLedgerLog({
    store,
    signer: signerFromKey('bench/log', generateKeyPairSync('ed25519').privateKey),
    origin: 'bench/log',
    checkpoints: { latest: async () => undefined, save: async () => undefined },
    checkpointEvery: 1000,
  });
  if (follow) await log.start();
  const result = await runLoad(store, 'many', 64, APPEND_MS);
  await log.stop();
  await store.close();
  return (result.events * 1000) / result.elapsedMs;
};

export const runMerkleBench = async (): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-merkle-'));
  try {
    const store = await makeSqliteEventStore({ path: join(dir, 'audit.db'), synchronous: 'NORMAL' });
    const audit = await auditRates(store);
    await store.close();
    process.stderr.write(`merkle bench: read ${fmt(audit.read)}/s, tree ${fmt(audit.merkle)}/s, audit ${fmt(audit.audit)}/s\n`);
    const without = await appendRate(join(dir, 'plain.db'), false);
    const withLog = await appendRate(join(dir, 'followed.db'), true);
    process.stderr.write(`merkle bench: appends ${fmt(without)}/s without the follower, ${fmt(withLog)}/s with it\n`);
    return [
      `### Provable ledger on SQLite (${EVENTS.toLocaleString('en-US')} events, median of ${RUNS}; appends: 64 writers for ${APPEND_MS} ms)`,
      '',
      `Machine: ${machine()}`,
      '',
      table(
        ['measure', 'events/s'],
        [
          ['ceiling: plain readAll', fmt(audit.read)],
          ['Merkle tree only (leaf hash + RFC 9162 tree)', fmt(audit.merkle)],
          ['audit with full Merkle verification', fmt(audit.audit)],
          ['appends, no ledger log follower', fmt(without)],
          ['appends, ledger log follower running', fmt(withLog)],
          ['append throughput kept', `${((withLog / without) * 100).toFixed(0)}%`],
        ],
      ),
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runMerkleBench());
}
