import { link, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Durable file replacement and a single-run lock, for state whose loss or
 * doubling would break a promise (the witness's last cosigned checkpoint:
 * forgetting it after a crash would let the witness cosign a fork of what it
 * already vouched for).
 */
export type DurableFs = { readonly open: typeof open; readonly rename: typeof rename };

const nodeFs: DurableFs = { open, rename };

let temporaryCount = 0;

/** Platforms and file systems that cannot fsync a directory say so with one of these; the rename is still atomic there. */
const noDirectorySync = new Set(['EINVAL', 'EISDIR', 'EBADF', 'EPERM', 'ENOTSUP']);

/**
 * Replaces `path` with `text` so that, after a crash or a power loss at any
 * point, the file holds either its old or its new text, and the new one once
 * this resolves: the text is written to `<path>.<pid>.<n>.tmp` and flushed to disk,
 * renamed over `path`, and the directory (which holds the rename) is flushed.
 */
export const writeFileDurably = async (path: string, text: string, mode = 0o600, fs: DurableFs = nodeFs): Promise<void> => {
  // Per process and per call: neither two processes (two services on one ledger) nor two calls at once share a temporary file.
  temporaryCount += 1;
  const temporary = `${path}.${process.pid}.${temporaryCount}.tmp`;
  const file = await fs.open(temporary, 'w', mode);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temporary, path);
  const directory = await fs.open(dirname(path), 'r');
  try {
    await directory.sync();
  } catch (error) {
    if (!noDirectorySync.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await directory.close();
  }
};

export type RunLock = { readonly release: () => Promise<void> };

export class LockHeld extends Error {}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes `path` as a lock for one run of a command. The lock file always holds
 * its owner's process id: it is written under another name first and linked
 * to `path`, which fails if `path` exists. A lock whose process is gone (a
 * run that was killed) is taken over; a live one makes this throw
 * `LockHeld`, naming it. (Two runs that find the same dead lock at the same
 * instant could both take it over; runs started from cron a minute apart do
 * not.)
 */
export const takeRunLock = async (path: string): Promise<RunLock> => {
  const mine = `${path}.${process.pid}`;
  await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(mine, path);
        return { release: () => rm(path, { force: true }) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (Number.isSafeInteger(holder) && holder > 0 && alive(holder)) {
          throw new LockHeld(`another run holds ${path} (process ${holder}); wait for it to end, or remove the file if that process is not this command`);
        }
        // Left by a run that died: take it over.
        await rm(path, { force: true });
      }
    }
    throw new LockHeld(`could not take ${path}: another run took it first`);
  } finally {
    await rm(mine, { force: true });
  }
};
