import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { checkpointText, openCheckpoint } from '../../application/checkpoints/checkpoint.js';
import { cosignNote } from '../../application/checkpoints/cosignature.js';
import { ALG_COSIGNATURE_V1, formatVkey, isKeyName, parseVkey } from '../../application/checkpoints/note.js';
import { decideCosign, type WitnessState } from '../../application/checkpoints/witness.js';
import { LockHeld, takeRunLock, writeFileDurably } from '../fileDurable.js';
import { ed25519Verify, generateSigningKeyFile, readSigningKey, signerFromKey } from '../ledger/ed25519.js';
import type { Io, Parsed } from './args.js';
import { positional, required, UsageError } from './args.js';

/**
 * `ledger witness --key KEY --state DIR <url>`: an independent witness
 * (C2SP tlog-witness semantics). It fetches the log's latest checkpoint,
 * checks the log's signature (the log key is pinned in DIR on first use, or
 * given with --log-key), asks for a consistency proof from the last
 * checkpoint it cosigned, and cosigns only a consistent extension. A
 * rollback or a fork is refused with the reason, and nothing is moved.
 *
 * DIR keeps: state.json (origin, size, root, log key), checkpoint (the last
 * cosigned note, log signature + cosignature). KEY is the witness's own
 * Ed25519 PEM; it is created (0600) if missing and its cosignature vkey printed.
 *
 * The state is the witness's promise: it is on disk (flushed, and replaced
 * atomically) before the cosignature is printed, so a crash or power loss can
 * never make the witness forget a checkpoint it vouched for and cosign a fork
 * of it. One run at a time per DIR (DIR/lock): two overlapping runs could
 * each cosign a different extension of the same state.
 */
const MAX_BODY = 1 << 16;
const FETCH_TIMEOUT_MS = 10_000;

type Stored = WitnessState & { readonly logKey: string };

/** The body of a GET, read no further than MAX_BODY bytes: the log is not trusted to answer small. */
const fetchText = async (url: string): Promise<string> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (;;) {
    const read = await reader?.read();
    if (read === undefined || read.done) break;
    size += read.value.byteLength;
    if (size > MAX_BODY) {
      await reader?.cancel();
      throw new Error(`${url} answered more than ${MAX_BODY} bytes`);
    }
    chunks.push(read.value);
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return Buffer.concat(chunks).toString('utf8');
};

const readState = async (dir: string): Promise<Stored | undefined> => {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) return undefined;
  return JSON.parse(await readFile(path, 'utf8')) as Stored;
};

export const runWitness = async (p: Parsed, io: Io): Promise<number> => {
  positional(p, 0, 'url');
  const dir = required(p.flags.state, 'state');
  await mkdir(dir, { recursive: true });
  let lock;
  try {
    lock = await takeRunLock(join(dir, 'lock'));
  } catch (error) {
    if (!(error instanceof LockHeld)) throw error;
    io.err(`refused: ${error.message}`);
    return 1;
  }
  try {
    return await witnessOnce(p, io, dir);
  } finally {
    await lock.release();
  }
};

const witnessOnce = async (p: Parsed, io: Io, dir: string): Promise<number> => {
  const base = positional(p, 0, 'url').replace(/\/+$/, '');
  const keyFile = required(p.flags.key, 'key');
  const name = p.flags.name ?? 'witness';
  if (!isKeyName(name)) throw new UsageError('--name must be one word without "+"');
  const privateKey = existsSync(keyFile) ? readSigningKey(keyFile) : generateSigningKeyFile(keyFile);
  const witness = signerFromKey(name, privateKey);
  io.err(`witness key ${formatVkey(name, witness.publicKey, ALG_COSIGNATURE_V1)}`);

  const stored = await readState(dir);
  const logKeyText = (p.flags['log-key'] ?? stored?.logKey ?? (await fetchText(`${base}/api/ledger/key`))).trim();
  if (stored !== undefined && stored.logKey !== logKeyText) {
    io.err(`refused: the log key ${logKeyText} is not the one this witness follows (${stored.logKey})`);
    return 1;
  }
  const logKey = parseVkey(logKeyText);
  if (E.isLeft(logKey)) throw new UsageError(`log key: ${logKey.left}`);

  const note = await fetchText(`${base}/api/ledger/checkpoint`);
  const opened = openCheckpoint(note, logKey.right, ed25519Verify, stored?.origin);
  if (E.isLeft(opened)) {
    io.err(`refused: ${opened.left}`);
    return 1;
  }
  const next = opened.right;
  let proof: Uint8Array[] = [];
  if (stored !== undefined && next.size > stored.size) {
    const answer = JSON.parse(await fetchText(`${base}/api/ledger/proof/consistency?from=${stored.size}&to=${next.size}`)) as { proof?: unknown };
    if (!Array.isArray(answer.proof) || !answer.proof.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
      io.err('refused: the log sent a malformed consistency proof');
      return 1;
    }
    proof = (answer.proof as string[]).map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  }
  const decided = decideCosign(stored, next, proof);
  if (E.isLeft(decided)) {
    io.err(decided.left);
    return 1;
  }
  const cosigned = cosignNote(note, checkpointText(next), witness, Math.floor(Date.now() / 1000));
  await writeFileDurably(join(dir, 'checkpoint'), cosigned);
  await writeFileDurably(join(dir, 'state.json'), `${JSON.stringify({ ...decided.right, logKey: logKeyText })}\n`);
  io.out(cosigned.trimEnd());
  io.err(stored === undefined ? `cosigned size ${next.size} (first checkpoint seen: trusted on first use)` : `cosigned size ${next.size}: a consistent extension of ${stored.size}`);
  return 0;
};
