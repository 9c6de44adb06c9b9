import { HASH_BYTES, emptyRoot, nodeHash, splitPoint, type Hash } from './hashing.js';

/**
 * An append-only Merkle tree (RFC 9162) that answers roots and proofs for any
 * earlier size in O(log n) hashes.
 *
 * It keeps, for every level l, the hashes of the complete aligned subtrees of
 * 2^l leaves (level 0 = the leaves): about 2n hashes of 32 bytes in flat
 * growable buffers, so a million events cost about 64 MB. Every range a root
 * or a proof asks for, D[a:b] with a a multiple of the largest power of two
 * below b - a, splits into complete aligned subtrees that are already stored.
 */
type HashColumn = { bytes: Uint8Array; length: number };

const column = (): HashColumn => ({ bytes: new Uint8Array(HASH_BYTES * 1024), length: 0 });

const at = (c: HashColumn, i: number): Hash => c.bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);

const push = (c: HashColumn, hash: Hash): void => {
  if ((c.length + 1) * HASH_BYTES > c.bytes.length) {
    const grown = new Uint8Array(c.bytes.length * 2);
    grown.set(c.bytes);
    c.bytes = grown;
  }
  c.bytes.set(hash, c.length * HASH_BYTES);
  c.length += 1;
};

export type MerkleTree = {
  readonly size: () => number;
  readonly append: (leaf: Hash) => void;
  readonly leaf: (index: number) => Hash;
  /** MTH(D[0:size]); size defaults to the whole tree. */
  readonly root: (size?: number) => Hash;
  /** RFC 9162 2.1.3.1 PATH(index, D[0:size]). */
  readonly inclusionProof: (index: number, size: number) => Hash[];
  /** RFC 9162 2.1.4.1 PROOF(from, D[0:to]). */
  readonly consistencyProof: (from: number, to: number) => Hash[];
};

export class TreeRangeError extends Error {}

export const makeMerkleTree = (): MerkleTree => {
  const levels: HashColumn[] = [column()];

  const append = (leaf: Hash): void => {
    if (leaf.length !== HASH_BYTES) throw new TreeRangeError('a leaf hash is 32 bytes');
    let level = 0;
    let hash = leaf;
    for (;;) {
      const current = levels[level] as HashColumn;
      push(current, hash);
      // A new right child completes its parent: hash it up.
      if (current.length % 2 === 1) return;
      const left = at(current, current.length - 2);
      hash = nodeHash(left, hash);
      level += 1;
      if (levels[level] === undefined) levels.push(column());
    }
  };

  // MTH(D[start:start+n]) where start is a multiple of n's split point (or of n when n is a power of two).
  const rangeHash = (start: number, n: number): Hash => {
    if (n === 0) return emptyRoot();
    if ((n & (n - 1)) === 0) {
      const level = Math.log2(n);
      return Uint8Array.from(at(levels[level] as HashColumn, start / n));
    }
    const k = splitPoint(n);
    return nodeHash(rangeHash(start, k), rangeHash(start + k, n - k));
  };

  const size = () => (levels[0] as HashColumn).length;

  const checkSize = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0 || n > size()) throw new TreeRangeError(`tree size ${n} is outside 0..${size()}`);
  };

  const path = (index: number, start: number, n: number, out: Hash[]): void => {
    if (n <= 1) return;
    const k = splitPoint(n);
    if (index < k) {
      path(index, start, k, out);
      out.push(rangeHash(start + k, n - k));
    } else {
      path(index - k, start + k, n - k, out);
      out.push(rangeHash(start, k));
    }
  };

  const subproof = (m: number, start: number, n: number, complete: boolean, out: Hash[]): void => {
    if (m === n) {
      if (!complete) out.push(rangeHash(start, n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, start, k, complete, out);
      out.push(rangeHash(start + k, n - k));
    } else {
      subproof(m - k, start + k, n - k, false, out);
      out.push(rangeHash(start, k));
    }
  };

  return {
    size,
    append,
    leaf: (index) => {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size()) throw new TreeRangeError(`leaf ${index} is outside 0..${size() - 1}`);
      return Uint8Array.from(at(levels[0] as HashColumn, index));
    },
    root: (n = size()) => {
      checkSize(n);
      return rangeHash(0, n);
    },
    inclusionProof: (index, n) => {
      checkSize(n);
      if (!Number.isSafeInteger(index) || index < 0 || index >= n) throw new TreeRangeError(`leaf ${index} is not in a tree of ${n}`);
      const out: Hash[] = [];
      path(index, 0, n, out);
      return out;
    },
    consistencyProof: (from, to) => {
      checkSize(to);
      if (!Number.isSafeInteger(from) || from < 0 || from > to) throw new TreeRangeError(`size ${from} is not within 0..${to}`);
      const out: Hash[] = [];
      // RFC 9162: the proof between equal sizes, or from the empty tree, is empty.
      if (from === 0 || from === to) return out;
      subproof(from, 0, to, true, out);
      return out;
    },
  };
};
