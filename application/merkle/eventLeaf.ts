import * as nodeCrypto from 'node:crypto';
import { makeHashKernel } from '../hashKernel.js';
import type { RecordedEvent } from '../ports/eventStore.js';
import type { Hash } from './hashing.js';

const kernel = makeHashKernel(nodeCrypto);
const { leafText, eventTexts, leafHash, sha256Hex } = kernel;

/**
 * What a leaf of the ledger's Merkle log commits to: the event's stream,
 * revision, type, data, metadata (its chain hash, previous hash, decision time
 * and correlation id) and the store's commit time, as canonical JSON (keys
 * sorted, no whitespace) in UTF-8. The global position is not inside: it is
 * the leaf's index, which the tree itself fixes. (The encoding is in
 * ../hashKernel.ts, shared with the hashing worker threads.)
 */
export const eventLeafText = (event: RecordedEvent): string => leafText(event);

export const eventLeafHash = (event: RecordedEvent): Hash => leafHash(leafText(event));

/**
 * The event's leaf hash and its recomputed chain hash (hex, as `recomputeHash`
 * in ../integrity.ts gives it) in one go: the audit needs both for every event,
 * and the two texts share the canonical encoding of the data.
 */
export const eventHashes = (event: RecordedEvent): { readonly leaf: Hash; readonly chain: string } => {
  const texts = eventTexts(event);
  return { leaf: leafHash(texts.leaf), chain: sha256Hex(texts.chain) };
};
