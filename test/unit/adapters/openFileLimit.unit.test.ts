import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { DESCRIPTOR_RESERVE, openFileLimitReport, parseOpenFileLimit, WANTED_OPEN_FILES } from '../../../adapters/system/openFileLimit.js';

const limitsText = (soft: string, hard: string) =>
  `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             95000                95000                processes \nMax open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     \n`;

describe('open-file limit at start-up', () => {
  it('reads the soft and hard limits from /proc/<pid>/limits', () => {
    expect(parseOpenFileLimit(limitsText('1024', '524288'))).toEqual({ soft: 1024, hard: 524288 });
    expect(parseOpenFileLimit(limitsText('1024', 'unlimited'))).toEqual({ soft: 1024, hard: Number.POSITIVE_INFINITY });
    expect(parseOpenFileLimit('Max processes 1 1 processes')).toBeUndefined();
  });

  it('says how many connections a generous limit leaves room for, without a warning', () => {
    expect(openFileLimitReport(() => limitsText('524288', '524288'))).toEqual({ limit: { soft: 524288, hard: 524288 }, connections: 524288 - DESCRIPTOR_RESERVE });
  });

  it('warns with the way to raise a low limit', () => {
    const report = openFileLimitReport(() => limitsText('20000', '20000'));
    expect(report?.advice).toContain(`hard limit 20000): room for about ${20000 - DESCRIPTOR_RESERVE} WebSocket connections`);
    expect(report?.advice).toContain(`--ulimit nofile=${WANTED_OPEN_FILES}`);
  });

  it('says nothing where there is no /proc (not Linux)', () => {
    expect(openFileLimitReport(() => { throw new Error('ENOENT'); })).toBeUndefined();
  });

  it('sees the soft limit Node raised itself: a process started with soft 1,024 / hard 4,096 has 4,096', () => {
    const root = new URL('../../../', import.meta.url);
    const module = new URL('adapters/system/openFileLimit.ts', root).href;
    const script = `import(${JSON.stringify(module)}).then((m) => process.stdout.write(JSON.stringify(m.openFileLimitReport())))`;
    const register = new URL('test/support/swcRegister.mjs', root).pathname;
    const out = execFileSync('prlimit', ['--nofile=1024:4096', process.execPath, '--import', register, '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ limit: { soft: 4096, hard: 4096 }, connections: 4096 - DESCRIPTOR_RESERVE });
  });
});
