// Child process for the SQLite crash test (test/int/eventstore/sqliteCrash.int.test.ts).
//
//   node --import ./test/support/swcRegister.mjs test/support/crashAppender.ts <db path> <run id>
//
// Appends 1-2 events at a time to a few streams from 16 concurrent callers,
// through the real SQLite adapter (synchronous=FULL), until it is killed.
// Each acknowledged append is printed as "ack <stream> <first revision>
// <count> <token>" the moment the store acknowledges it; stdout writes to a
// pipe are synchronous on Linux, so a line printed is a line the parent gets,
// even if SIGKILL follows at once. Events are sealed into the real hash
// chain (application/integrity.ts), so the file can be audited afterwards.
import * as E from 'fp-ts/lib/Either.js';
import { sealEvents } from '../../application/integrity.js';
import type { ExpectedRevision } from '../../application/ports/eventStore.js';
import { makeSqliteEventStore } from '../../adapters/eventstore/sqlite/sqliteEventStore.js';

const [path, runId] = process.argv.slice(2);
if (path === undefined || runId === undefined) throw new Error('usage: crashAppender.ts <db path> <run id>');

const STREAMS = 8;
const CALLERS = 16;
const store = await makeSqliteEventStore({ path, synchronous: 'FULL' });

// Where each stream ends now (earlier runs appended to the same streams).
const heads = new Map<string, { next: number; hash: string }>();
for (let k = 0; k < STREAMS; k++) {
  const head = { next: 0, hash: '' };
  for await (const event of store.readStream(`crash-${k}`)) {
    head.next = event.revision + 1;
    head.hash = event.metadata.hash;
  }
  heads.set(`crash-${k}`, head);
}

let sequence = 0;
const caller = async (): Promise<never> => {
  for (;;) {
    const stream = `crash-${Math.floor(Math.random() * STREAMS)}`;
    const head = heads.get(stream) ?? { next: 0, hash: '' };
    const first = head.next;
    const count = 1 + Math.floor(Math.random() * 2);
    const token = `${runId}.${sequence++}`;
    const domainEvents = Array.from({ length: count }, (_, i) => ({ type: 'Appended', data: { token, i } }));
    const { sealed: events, lastHash } = sealEvents(stream, first, head.hash, domainEvents, Date.now());
    // Claim the revisions before awaiting: the store applies appends in arrival
    // order, so callers can pipeline appends to one stream.
    heads.set(stream, { next: first + count, hash: lastHash });
    const expected: ExpectedRevision = first === 0 ? 'no_stream' : first - 1;
    const result = await store.appendToStream(stream, events, expected)();
    if (E.isLeft(result)) {
      process.stderr.write(`unexpected conflict on ${stream}: ${JSON.stringify(result.left)}\n`);
      process.exit(3);
    }
    process.stdout.write(`ack ${stream} ${first} ${count} ${token}\n`);
  }
};

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: CALLERS }, caller));
