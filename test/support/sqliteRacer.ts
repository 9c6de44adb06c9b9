// Child process for the two-process race on one SQLite file
// (test/int/eventstore/sqliteProcesses.int.test.ts).
//
//   node --import ./test/support/swcRegister.mjs test/support/sqliteRacer.ts <db path> <stream> <label> <attempts>
//
// Prints "ready", waits for a line on stdin (so both racers start together),
// then makes <attempts> appends to one stream, each against the revision it
// last saw, and prints "win <revision>" or "lost <revision>" for each.
import { once } from 'node:events';
import * as E from 'fp-ts/lib/Either.js';
import type { ExpectedRevision, NewEvent } from '../../application/ports/eventStore.js';
import { makeSqliteEventStore } from '../../adapters/eventstore/sqlite/sqliteEventStore.js';

const [path, stream, label, attemptsText] = process.argv.slice(2);
if (path === undefined || stream === undefined || label === undefined || attemptsText === undefined) {
  throw new Error('usage: sqliteRacer.ts <db path> <stream> <label> <attempts>');
}

const store = await makeSqliteEventStore({ path, synchronous: 'FULL' });
process.stdout.write('ready\n');
await once(process.stdin, 'data');

let expected: ExpectedRevision = 'no_stream';
const lines: string[] = [];
for (let attempt = 0; attempt < Number(attemptsText); attempt++) {
  const revision: number = expected === 'no_stream' ? 0 : expected + 1;
  const event: NewEvent = { type: 'Raced', data: { by: label, revision }, metadata: { hash: `${label}.${attempt}`, prevHash: '', recordedAt: Date.now() } };
  const result = await store.appendToStream(stream, [event], expected)();
  if (E.isRight(result)) {
    lines.push(`win ${revision}`);
    expected = result.right.nextExpectedRevision;
  } else {
    lines.push(`lost ${revision}`);
    expected = result.left.actual ?? expected;
  }
}
await store.close();
process.stdout.write(`${lines.join('\n')}\n`);
process.stdin.destroy();
