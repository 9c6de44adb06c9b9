import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { emptyRoot, leafHash, nodeHash, referenceRoot, splitPoint, toHex, type Hash } from '../../../application/merkle/hashing.js';
import { makeMerkleTree } from '../../../application/merkle/tree.js';
import { verifyConsistency, verifyInclusion } from '../../../application/merkle/verify.js';

/**
 * RFC 9162 section 2.1 tree hashing and proofs. The fixed vectors are the
 * Certificate Transparency reference leaves, roots and proofs (the same
 * values the RFC 6962 implementations test against); the properties check
 * every proof of random trees against the definitions.
 */
const unhex = (s: string): Hash => Uint8Array.from(Buffer.from(s, 'hex'));
const DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const treeOf = (leaves: readonly Hash[]) => {
  const tree = makeMerkleTree();
  for (const leaf of leaves) tree.append(leaf);
  return tree;
};

const flipBit = (hash: Hash, bit: number): Hash => {
  const copy = Uint8Array.from(hash);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
};

describe('RFC 9162 tree hashing', () => {
  it('hashes the empty tree as SHA-256 of the empty string', () => {
    expect(toHex(emptyRoot())).toBe(createHash('sha256').digest('hex'));
    expect(toHex(makeMerkleTree().root())).toBe(ROOTS[0]);
  });

  it('prefixes leaves with 0x00 and nodes with 0x01', () => {
    expect(toHex(leafHash(new Uint8Array()))).toBe(createHash('sha256').update(Uint8Array.of(0)).digest('hex'));
    const [a, b] = [leafHash(DATA[0] as Hash), leafHash(DATA[1] as Hash)];
    expect(toHex(nodeHash(a, b))).toBe(createHash('sha256').update(Uint8Array.of(1)).update(a).update(b).digest('hex'));
  });

  it('splits at the largest power of two below n, not at the middle', () => {
    expect([2, 3, 4, 5, 6, 7, 8, 9, 1000].map(splitPoint)).toEqual([1, 2, 2, 4, 4, 4, 4, 8, 512]);
  });

  it('matches the reference roots for every size 0..8', () => {
    const leaves = DATA.map((d) => leafHash(d));
    const tree = treeOf(leaves);
    for (let n = 0; n <= 8; n++) {
      expect(toHex(tree.root(n))).toBe(ROOTS[n]);
      expect(toHex(referenceRoot(leaves.slice(0, n)))).toBe(ROOTS[n]);
    }
  });

  it('gives the reference inclusion and consistency proofs', () => {
    const tree = treeOf(DATA.map((d) => leafHash(d)));
    expect(tree.inclusionProof(0, 8).map(toHex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(tree.inclusionProof(5, 8).map(toHex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(tree.consistencyProof(2, 8).map(toHex)).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(tree.consistencyProof(2, 5).map(toHex)).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
    expect(tree.consistencyProof(6, 8).map(toHex)[0]).toBe('0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a');
    expect(verifyConsistency(2, 8, unhex(ROOTS[2] as string), unhex(ROOTS[8] as string), tree.consistencyProof(2, 8))).toBe(true);
  });

  it('refuses proofs for sizes and leaves the tree does not have', () => {
    const tree = treeOf(DATA.map((d) => leafHash(d)));
    expect(() => tree.inclusionProof(8, 8)).toThrow();
    expect(() => tree.root(9)).toThrow();
    expect(() => tree.consistencyProof(5, 4)).toThrow();
    expect(tree.consistencyProof(0, 8)).toEqual([]);
    expect(tree.consistencyProof(8, 8)).toEqual([]);
  });
});

// Distinct leaves (the index is part of the data), so "the wrong index fails" is a fair expectation.
const leavesArb = fc
  .array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 70 })
  .map((data) => data.map((d, i) => leafHash(Uint8Array.from([i & 0xff, i >> 8, ...d]))));

describe('RFC 9162 proofs on random trees', () => {
  it('every root of every prefix equals the definition', () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        const tree = treeOf(leaves);
        for (let n = 0; n <= leaves.length; n++) expect(toHex(tree.root(n))).toBe(toHex(referenceRoot(leaves.slice(0, n))));
      }),
      { numRuns: 60 },
    );
  });

  it('every inclusion proof verifies, and any single-bit change or wrong index fails', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, bit) => {
        const tree = treeOf(leaves);
        const size = 1 + (a % leaves.length);
        const index = b % size;
        const root = tree.root(size);
        const proof = tree.inclusionProof(index, size);
        const leaf = leaves[index] as Hash;
        expect(verifyInclusion(index, size, leaf, proof, root)).toBe(true);
        expect(verifyInclusion(index, size, flipBit(leaf, bit % 256), proof, root)).toBe(false);
        expect(verifyInclusion(index, size, leaf, proof, flipBit(root, bit % 256))).toBe(false);
        if (proof.length > 0) {
          const which = bit % proof.length;
          const bad = proof.map((p, i) => (i === which ? flipBit(p, (bit >> 3) % 256) : p));
          expect(verifyInclusion(index, size, leaf, bad, root)).toBe(false);
          expect(verifyInclusion(index, size, leaf, proof.slice(0, -1), root)).toBe(false);
          if (index + 1 < size) expect(verifyInclusion(index + 1, size, leaf, proof, root)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies, and any single-bit change fails', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, bit) => {
        const tree = treeOf(leaves);
        const to = 1 + (a % leaves.length);
        const from = 1 + (b % to);
        const proof = tree.consistencyProof(from, to);
        const [r1, r2] = [tree.root(from), tree.root(to)];
        expect(verifyConsistency(from, to, r1, r2, proof)).toBe(true);
        expect(verifyConsistency(from, to, flipBit(r1, bit % 256), r2, proof)).toBe(false);
        expect(verifyConsistency(from, to, r1, flipBit(r2, bit % 256), proof)).toBe(false);
        if (proof.length > 0) {
          const which = bit % proof.length;
          const bad = proof.map((p, i) => (i === which ? flipBit(p, (bit >> 3) % 256) : p));
          expect(verifyConsistency(from, to, r1, r2, bad)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a rewritten prefix is not consistent with the original', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), (leaves, a, b) => {
        fc.pre(leaves.length >= 2);
        const from = 1 + (a % (leaves.length - 1));
        const changed = b % from;
        const forked = leaves.map((l, i) => (i === changed ? flipBit(l, 0) : l));
        const honest = treeOf(leaves);
        const fork = treeOf(forked);
        const proof = fork.consistencyProof(from, leaves.length);
        expect(verifyConsistency(from, leaves.length, honest.root(from), fork.root(), proof)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
