import { isPowerOfTwo, nodeHash, sameHash, type Hash } from './hashing.js';

/**
 * The client side of RFC 9162: checking proofs with nothing but hashes, as an
 * auditor does offline. Both functions follow the RFC's algorithms step by
 * step (sections 2.1.3.2 and 2.1.4.2).
 */

/** RFC 9162 2.1.3.2: does `proof` show leaf `index` with `leaf` hash in the tree of `size` with `root`? */
export const verifyInclusion = (index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean => {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(r, root);
};

/** RFC 9162 2.1.4.2: is the tree of `second` leaves with `secondRoot` an append-only extension of the one of `first` leaves? */
export const verifyConsistency = (first: number, second: number, firstRoot: Hash, secondRoot: Hash, proof: readonly Hash[]): boolean => {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  // Every tree extends the empty one; a tree is consistent with itself only if the roots agree.
  if (first === 0) return proof.length === 0;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Hash;
  let sr = path[0] as Hash;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sameHash(fr, firstRoot) && sameHash(sr, secondRoot) && sn === 0;
};
