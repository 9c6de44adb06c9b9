import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Checkpoint } from '../../application/checkpoints/checkpoint.js';
import type { CheckpointStore } from '../../application/ports/checkpointStore.js';

/**
 * Signed checkpoints in a sidecar beside the store: `<base>.latest` holds the
 * newest note (replaced atomically by rename), `<base>.log` keeps every one
 * ever made, one JSON line each ({ size, root, note }). Checkpoints are
 * signed, so the file needs no protection beyond the store's own: altering
 * one only breaks its signature, and an auditor keeps their own copies.
 */
export const makeCheckpointFile = (base: string): CheckpointStore => ({
  latest: async () => {
    try {
      return await readFile(`${base}.latest`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  save: async (note: string, checkpoint: Checkpoint) => {
    await mkdir(dirname(base), { recursive: true });
    const line = JSON.stringify({ size: checkpoint.size, root: Buffer.from(checkpoint.root).toString('base64'), note });
    await appendFile(`${base}.log`, `${line}\n`);
    const temporary = `${base}.latest.${process.pid}.tmp`;
    await writeFile(temporary, note);
    await rename(temporary, `${base}.latest`);
  },
});
