import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { makeProgress } from '../../../adapters/cli/progress.js';

describe('audit progress bar', () => {
  it('shows the total, percent, rate and ETA, not a full bar from the first frame', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    let written = '';
    stream.on('data', (d: Buffer) => (written += d.toString()));
    let clock = 0;
    const bar = makeProgress(300_000, 'auditing', { stream, now: () => clock });
    const first = written;
    clock = 2000;
    bar.update(100_000);
    bar.stop();
    // eslint-disable-next-line no-control-regex
    const text = written.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(first).toContain('0%');
    expect(text).toContain('0/300000 events');
    expect(text).toContain('33% 100000/300000 events | 50000 events/s | ETA');
  });
});
