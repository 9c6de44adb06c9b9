import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Checkpoint } from '../../application/checkpoints/checkpoint.js';
import type { CheckpointStore } from '../../application/ports/checkpointStore.js';
import { writeFileDurably } from '../fileDurable.js';

/**
 * Signed checkpoints in a sidecar beside the store: `<base>.latest` holds the
 * newest note (replaced atomically by rename), `<base>.log` keeps every one
 * ever made, one JSON line each ({ size, root, note }). Checkpoints are
 * signed, so the file needs no protection beyond the store's own: altering
 * one only breaks its signature, and an auditor keeps their own copies.
 * `.latest` is flushed to disk before it replaces the old one, so a crash
 * leaves the old note or the new one; an empty file (left by a crash on a
 * file system that does not order the two) counts as no checkpoint, and the
 * log signs a fresh one, rather than serving an empty note.
 */
export const makeCheckpointFile = (base: string): CheckpointStore => {
  // Saves run one after another, so `.latest` ends with the last note saved, never an older one that finished later.
  let saving: Promise<void> = Promise.resolve();
  const saveNow = async (note: string, checkpoint: Checkpoint) => {
    await mkdir(dirname(base), { recursive: true });
    const line = JSON.stringify({ size: checkpoint.size, root: Buffer.from(checkpoint.root).toString('base64'), note });
    await appendFile(`${base}.log`, `${line}\n`);
    await writeFileDurably(`${base}.latest`, note, 0o644);
  };
  return {
    latest: async () => {
      try {
        const note = await readFile(`${base}.latest`, 'utf8');
        return note.trim() === '' ? undefined : note;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    save: (note: string, checkpoint: Checkpoint) => {
      const done = saving.then(() => saveNow(note, checkpoint));
      saving = done.catch(() => undefined);
      return done;
    },
  };
};
