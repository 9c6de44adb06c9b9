import { Writable } from 'node:stream';
import { makeLogger } from '../../adapters/logging.js';

/**
 * A logger whose lines (pino JSON, level `info` and above) are kept parsed in
 * `lines`, for tests that check what reaches the operator's log.
 */
export const capturingLogger = () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: makeLogger('info', sink) };
};
