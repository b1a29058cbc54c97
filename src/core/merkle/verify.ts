/**
 * Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 write it (the
 * iterative algorithms), so a third party can check our proofs against the
 * text line by line. They allocate nothing but the node digests: a bundle
 * verifier runs them once per event.
 *
 * Both return false, never throw, for malformed input (a size that is not a
 * safe integer, a hash that is not 32 bytes), since they read untrusted data.
 */
import { EMPTY_ROOT, equalHash, isHash, nodeHash } from './hash.ts';

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/**
 * RFC 9162 §2.1.3.2: does `proof` show the leaf with hash `leaf` at `index`
 * in the tree of `size` leaves whose head is `root`?
 *
 * @example
 * verifyInclusion(leafHash(event.body), event.seq - 1, head.size, proof, head.root);
 */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  // 1. leaf_index >= tree_size fails: there is no proof for a leaf outside the tree.
  if (!isCount(index) || !isCount(size) || index >= size) return false;
  if (!isHash(leaf) || !isHash(root)) return false;
  // 2-3.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  // 4.
  for (const p of proof) {
    if (!isHash(p)) return false;
    if (sn === 0) return false; // a.
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r); // b.1
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn); // c.
    sn = half(sn);
  }
  // 5.
  return sn === 0 && equalHash(r, root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show the tree of `fromSize` leaves with head
 * `fromRoot` is a prefix of the tree of `toSize` leaves with head `toRoot`?
 *
 * The RFC defines the algorithm for 0 < first < second. Outside that range:
 * - equal sizes: true only for an empty proof and equal roots;
 * - fromSize 0: true only for an empty proof and `fromRoot` equal to
 *   EMPTY_ROOT (the only head a tree of 0 can have); `toRoot` is not
 *   constrained, since the empty tree is a prefix of every tree. From 0 to 0
 *   both roots must be EMPTY_ROOT;
 * - fromSize > toSize: false.
 *
 * @example
 * verifyConsistency(old.size, head.size, old.root, head.root, proof);
 */
export function verifyConsistency(fromSize: number, toSize: number, fromRoot: Uint8Array, toRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!isCount(fromSize) || !isCount(toSize) || fromSize > toSize) return false;
  if (!isHash(fromRoot) || !isHash(toRoot)) return false;
  if (fromSize === 0) return proof.length === 0 && equalHash(fromRoot, EMPTY_ROOT) && (toSize > 0 || equalHash(toRoot, EMPTY_ROOT));
  if (fromSize === toSize) return proof.length === 0 && equalHash(fromRoot, toRoot);
  // 1.
  if (proof.length === 0) return false;
  // 2. Prepending first_hash is done by reading the path through an offset, not by copying it.
  const pre = isPowerOfTwo(fromSize) ? 1 : 0;
  const path = (i: number): Uint8Array | undefined => (i < pre ? fromRoot : proof[i - pre]);
  const length = proof.length + pre;
  // 3-4.
  let fn = fromSize - 1;
  let sn = toSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5.
  const first = path(0);
  if (!isHash(first)) return false;
  let fr = first;
  let sr = first;
  // 6.
  for (let i = 1; i < length; i++) {
    const c = path(i);
    if (!isHash(c)) return false;
    if (sn === 0) return false; // a.
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr); // b.1
      sr = nodeHash(c, sr); // b.2
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn); // c.
    sn = half(sn);
  }
  // 7.
  return sn === 0 && equalHash(fr, fromRoot) && equalHash(sr, toRoot);
}

function isPowerOfTwo(n: number): boolean {
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}
