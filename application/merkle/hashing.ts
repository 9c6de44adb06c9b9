import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { makeHashKernel } from '../hashKernel.js';

/**
 * RFC 9162 (Certificate Transparency 2.0) section 2.1.1 tree hashing with
 * SHA-256: the hash of the empty tree is SHA-256 of nothing, a leaf is
 * SHA-256(0x00 || data), an interior node SHA-256(0x01 || left || right).
 * The two prefixes keep a leaf from ever passing for a node (second
 * preimage resistance of the tree).
 */
export type Hash = Uint8Array;

export const HASH_BYTES = 32;

const NODE_PREFIX = Uint8Array.of(0x01);

export const emptyRoot = (): Hash => createHash('sha256').digest();

// One-shot hashing (crypto.hash, Node 20.12+) costs about half of a createHash object per call; the tree hashes twice per event.
type OneShot = (algorithm: string, data: string | Uint8Array, encoding: 'buffer') => Buffer;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;

/** SHA-256(0x00 || data); the leaf encoding is shared with the hashing worker threads (../hashKernel.ts). */
export const leafHash: (data: Uint8Array | string) => Hash = makeHashKernel(nodeCrypto).leafHash;

export const nodeHash = (left: Hash, right: Hash): Hash => {
  if (oneShot === undefined) return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return oneShot('sha256', input, 'buffer');
};

/** The largest power of two strictly smaller than n (n >= 2): where RFC 9162 splits a tree of n leaves. */
export const splitPoint = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

export const isPowerOfTwo = (n: number): boolean => n > 0 && Number.isInteger(Math.log2(n));

export const sameHash = (a: Hash, b: Hash): boolean => {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
};

// A view, not a copy, of the hash's bytes.
export const toHex = (hash: Hash): string => Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
export const toBase64 = (hash: Hash): string => Buffer.from(hash).toString('base64');

/** MTH(D[n]) straight from the definition: the reference the fast tree is tested against. */
export const referenceRoot = (leaves: readonly Hash[]): Hash => {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0] as Hash;
  const k = splitPoint(leaves.length);
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
};
