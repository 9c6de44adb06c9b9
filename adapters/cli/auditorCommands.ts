import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { openCheckpoint, signCheckpoint, type Checkpoint } from '../../application/checkpoints/checkpoint.js';
import { parseVkey, type VerifierKey } from '../../application/checkpoints/note.js';
import { eventLeafText } from '../../application/merkle/eventLeaf.js';
import { HASH_BYTES, leafHash, sameHash, toBase64, toHex } from '../../application/merkle/hashing.js';
import { checkHistory } from '../../application/merkle/ledgerLog.js';
import { makeMerkleTree, type MerkleTree } from '../../application/merkle/tree.js';
import { verifyConsistency, verifyInclusion } from '../../application/merkle/verify.js';
import type { EventStore } from '../../application/ports/eventStore.js';
import { loadConfig } from '../config.js';
import { openEventStore } from '../eventstore/fromUrl.js';
import { ed25519Verify } from '../ledger/ed25519.js';
import { ledgerSetup } from '../ledger/ledgerSetup.js';
import { historyProblem } from '../ledger/runLedgerLog.js';
import type { Io, Parsed } from './args.js';
import { integer, positional, required, UsageError } from './args.js';
import { runWitness } from './witnessCommand.js';

/**
 * The auditor's commands (docs/audit.md): the verifier key, signed
 * checkpoints, verification of today's log against a saved checkpoint, and
 * inclusion proofs an auditor can check offline. `witness` is in
 * witnessCommand.ts.
 */
export const AUDITOR_COMMANDS = ['key', 'checkpoint', 'verify', 'prove', 'witness'] as const;

export const isAuditorCommand = (command: string): boolean => (AUDITOR_COMMANDS as readonly string[]).includes(command);

/** What every command that reads the log needs: the store's leaves, their positions and text on demand. */
type LogView = { readonly tree: MerkleTree; readonly positions: number[] };

const readLog = async (store: EventStore): Promise<LogView> => {
  const tree = makeMerkleTree();
  const positions: number[] = [];
  for await (const event of store.readAll()) {
    tree.append(leafHash(eventLeafText(event)));
    positions.push(event.position);
  }
  return { tree, positions };
};

const setupFor = (io: Io) => {
  const config = loadConfig(io.env);
  return ledgerSetup(config, io.env['NODE_ENV']);
};

/** A vkey given inline or as a file holding one. */
export const readVkey = async (raw: string): Promise<VerifierKey> => {
  const text = existsSync(raw) ? (await readFile(raw, 'utf8')).trim() : raw.trim();
  const key = parseVkey(text);
  if (E.isLeft(key)) throw new UsageError(`--key: ${key.left}`);
  return key.right;
};

const withStore = async <T>(io: Io, use: (store: EventStore) => Promise<T>): Promise<T> => {
  const store = await openEventStore(io.env['EVENT_STORE'] || undefined);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
};

const key = (p: Parsed, io: Io): number => {
  if (p.flags.public !== true) throw new UsageError('only "ledger key --public" exists: the private key never leaves its file');
  io.out(setupFor(io).vkey);
  return 0;
};

const checkpoint = async (p: Parsed, io: Io): Promise<number> => {
  const setup = setupFor(io);
  const { tree } = await withStore(io, readLog);
  // As the service does at start-up: never sign a history inconsistent with the newest checkpoint saved before.
  const problem = historyProblem(checkHistory(await setup.checkpoints.latest(), tree, setup.signer, setup.origin), setup.checkpointBase);
  if (problem !== undefined) {
    io.err(`refused: ${problem}`);
    return 1;
  }
  const signed: Checkpoint = { origin: setup.origin, size: tree.size(), root: tree.root() };
  const note = signCheckpoint(signed, setup.signer);
  await setup.checkpoints.save(note, signed);
  if (p.flags.out !== undefined) {
    await writeFile(p.flags.out, note);
    // The leaf hashes beside it let `verify` name the first position that changed, should one ever change.
    const leaves = Buffer.alloc(tree.size() * HASH_BYTES);
    for (let i = 0; i < tree.size(); i++) leaves.set(tree.leaf(i), i * HASH_BYTES);
    await writeFile(`${p.flags.out}.leaves`, leaves);
  }
  io.out(note.trimEnd());
  return 0;
};

/** The first leaf index where the saved leaves (if they match the signed root) and today's log differ. */
const firstDifference = async (checkpointFile: string, signed: Checkpoint, tree: MerkleTree): Promise<number | undefined> => {
  const path = `${checkpointFile}.leaves`;
  if (!existsSync(path)) return undefined;
  const raw = await readFile(path);
  if (raw.length !== signed.size * HASH_BYTES) return undefined;
  const saved = makeMerkleTree();
  for (let i = 0; i < signed.size; i++) saved.append(Uint8Array.from(raw.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)));
  // Only leaves whose root the log signed are evidence; anything else is ignored.
  if (!sameHash(saved.root(), signed.root)) return undefined;
  for (let i = 0; i < signed.size; i++) if (i >= tree.size() || !sameHash(saved.leaf(i), tree.leaf(i))) return i;
  return undefined;
};

const verifyLog = async (p: Parsed, io: Io, vkey: VerifierKey): Promise<number> => {
  const file = required(p.flags.checkpoint, 'checkpoint');
  const opened = openCheckpoint(await readFile(file, 'utf8'), vkey, ed25519Verify);
  if (E.isLeft(opened)) {
    io.err(`verify FAILED: ${opened.left}`);
    return 1;
  }
  const signed = opened.right;
  io.out(`checkpoint ${signed.origin} size ${signed.size} root ${toBase64(signed.root)}: signature valid`);
  const { tree, positions } = await withStore(io, readLog);
  const where = (index: number) => `position ${positions[index] ?? index}`;
  if (tree.size() < signed.size) {
    io.err(`verify FAILED: the log was truncated: it has ${tree.size()} events, the checkpoint commits to ${signed.size}; first missing: ${where(tree.size())}`);
    return 1;
  }
  const proof = tree.consistencyProof(signed.size, tree.size());
  if (!sameHash(tree.root(signed.size), signed.root) || !verifyConsistency(signed.size, tree.size(), signed.root, tree.root(), proof)) {
    const first = await firstDifference(file, signed, tree);
    const located = first === undefined ? 'the first changed position cannot be located without the .leaves file saved beside the checkpoint' : `first bad ${where(first)}`;
    io.err(`verify FAILED: the first ${signed.size} events are not the ones the checkpoint signed (rewritten, reordered or replaced); ${located}`);
    return 1;
  }
  io.out(`verify passed: today's log (size ${tree.size()}, root ${toBase64(tree.root())}) is a consistent extension of the checkpoint (consistency proof of ${proof.length} hashes checked)`);
  return 0;
};

/** An inclusion proof bundle, self-contained: anyone with the vkey can check it offline. */
type ProofBundle = { checkpoint: string; position: number; leafIndex: number; treeSize: number; leaf: string; leafHash: string; proof: string[] };

const verifyProof = async (p: Parsed, io: Io, vkey: VerifierKey): Promise<number> => {
  const bundle = JSON.parse(await readFile(required(p.flags.proof, 'proof'), 'utf8')) as ProofBundle;
  const opened = openCheckpoint(bundle.checkpoint, vkey, ed25519Verify);
  if (E.isLeft(opened)) {
    io.err(`proof FAILED: ${opened.left}`);
    return 1;
  }
  const leaf = leafHash(bundle.leaf);
  const ok =
    opened.right.size === bundle.treeSize &&
    toHex(leaf) === bundle.leafHash &&
    verifyInclusion(bundle.leafIndex, bundle.treeSize, leaf, bundle.proof.map((h) => Uint8Array.from(Buffer.from(h, 'hex'))), opened.right.root);
  if (!ok) {
    io.err(`proof FAILED: the event at position ${bundle.position} is not proven to be in the signed log of size ${opened.right.size}`);
    return 1;
  }
  io.out(`proof valid: the event at position ${bundle.position} (leaf ${bundle.leafIndex}) is in the log of size ${bundle.treeSize} signed by ${vkey.name}`);
  return 0;
};

const prove = async (p: Parsed, io: Io): Promise<number> => {
  const position = integer(positional(p, 0, 'position'), 'position');
  const setup = setupFor(io);
  const bundle = await withStore(io, async (store) => {
    const { tree, positions } = await readLog(store);
    const treeSize = p.flags.size === undefined ? tree.size() : integer(p.flags.size, '--size');
    const leafIndex = positions.indexOf(position);
    if (leafIndex < 0 || leafIndex >= treeSize || treeSize > tree.size()) throw new UsageError(`position ${position} is not in the log of size ${treeSize}`);
    const [event] = await collectOne(store, position, positions[leafIndex - 1]);
    const note = signCheckpoint({ origin: setup.origin, size: treeSize, root: tree.root(treeSize) }, setup.signer);
    const result: ProofBundle = {
      checkpoint: note,
      position,
      leafIndex,
      treeSize,
      leaf: event,
      leafHash: toHex(tree.leaf(leafIndex)),
      proof: tree.inclusionProof(leafIndex, treeSize).map(toHex),
    };
    return result;
  });
  const text = JSON.stringify(bundle, null, 2);
  if (p.flags.out !== undefined) await writeFile(p.flags.out, `${text}\n`);
  io.out(text);
  return 0;
};

const collectOne = async (store: EventStore, position: number, previous: number | undefined): Promise<[string]> => {
  for await (const event of store.readAll({ ...(previous === undefined ? {} : { after: previous }), maxCount: 1 })) {
    if (event.position === position) return [eventLeafText(event)];
  }
  throw new Error(`the event at position ${position} could not be read back`);
};

export const runAuditorCommand = async (p: Parsed, io: Io): Promise<number> => {
  switch (p.command) {
    case 'key':
      return key(p, io);
    case 'checkpoint':
      return checkpoint(p, io);
    case 'verify': {
      const vkey = await readVkey(required(p.flags.key, 'key'));
      return p.flags.proof !== undefined ? verifyProof(p, io, vkey) : verifyLog(p, io, vkey);
    }
    case 'prove':
      return prove(p, io);
    case 'witness':
      return runWitness(p, io);
    default:
      throw new UsageError(`unknown command "${String(p.command)}"`);
  }
};
