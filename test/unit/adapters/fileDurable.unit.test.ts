import { describe, expect, it } from '@jest/globals';
import type { DurableFs } from '../../../adapters/fileDurable.js';
import { writeFileDurably } from '../../../adapters/fileDurable.js';

/** A file system that records what is asked of it, in order, and can fail one step. */
const recordingFs = (failOn?: string | RegExp, code = 'EIO') => {
  const ops: string[] = [];
  const step = async (name: string) => {
    ops.push(name);
    if (failOn !== undefined && (typeof failOn === 'string' ? name === failOn : failOn.test(name))) throw Object.assign(new Error(`${name} failed`), { code });
  };
  const fs = {
    open: async (path: string, flags: string, mode?: number) => {
      await step(`open ${path} ${flags}${mode === undefined ? '' : ` ${mode.toString(8)}`}`);
      return {
        writeFile: (text: string) => step(`write ${path} ${JSON.stringify(text)}`),
        sync: () => step(`sync ${path}`),
        close: () => step(`close ${path}`),
      };
    },
    rename: (from: string, to: string) => step(`rename ${from} ${to}`),
  } as unknown as DurableFs;
  return { fs, ops };
};

describe('writeFileDurably', () => {
  it('flushes the new text before the rename, and the directory after it', async () => {
    const { fs, ops } = recordingFs();
    await writeFileDurably('/w/state.json', '{"size":3}\n', 0o600, fs);
    // A temporary name of this process and this call, beside the file.
    const temporary = /^open (\S+) w 600$/.exec(ops[0] ?? '')?.[1] ?? '';
    expect(temporary).toMatch(new RegExp(`^/w/state\\.json\\.${process.pid}\\.\\d+\\.tmp$`));
    expect(ops).toEqual([
      `open ${temporary} w 600`,
      `write ${temporary} "{\\"size\\":3}\\n"`,
      `sync ${temporary}`,
      `close ${temporary}`,
      `rename ${temporary} /w/state.json`,
      'open /w r',
      'sync /w',
      'close /w',
    ]);
  });

  it('never renames text that could not be flushed: the old file stays', async () => {
    const { fs, ops } = recordingFs(/^sync \/w\/state\.json\..+\.tmp$/);
    await expect(writeFileDurably('/w/state.json', 'new', 0o600, fs)).rejects.toThrow(/^sync \/w\/state\.json\..+\.tmp failed$/);
    expect(ops.some((op) => op.startsWith('rename'))).toBe(false);
    expect(ops.at(-1)).toMatch(/^close \/w\/state\.json\..+\.tmp$/);
  });

  it('gives each call its own temporary file, so two saves at once do not write into one', async () => {
    const { fs, ops } = recordingFs();
    await Promise.all([writeFileDurably('/w/a', 'one', 0o600, fs), writeFileDurably('/w/a', 'two', 0o600, fs)]);
    const temporaries = new Set(ops.filter((op) => op.startsWith('open /w/a.')).map((op) => op.split(' ')[1]));
    expect(temporaries.size).toBe(2);
  });

  it('accepts a file system that cannot flush a directory, and fails on a real error there', async () => {
    const unsupported = recordingFs('sync /w', 'EINVAL');
    await writeFileDurably('/w/state.json', 'x', 0o600, unsupported.fs);
    expect(unsupported.ops.at(-1)).toBe('close /w');
    const broken = recordingFs('sync /w', 'EIO');
    await expect(writeFileDurably('/w/state.json', 'x', 0o600, broken.fs)).rejects.toThrow('sync /w failed');
  });
});
