/**
 * Proof generation, following the RFC 6962 §2.1 recursive definitions (MTH,
 * PATH, PROOF/SUBPROOF) but over a `SubtreeSource` instead of an array of
 * leaves, so a log of millions of events answers from stored subtree hashes
 * with O(log n) lookups per proof and never loads its leaves.
 *
 * Sizes and indexes are plain numbers and stay exact up to 2^53; the bit
 * twiddling is done with arithmetic, not 32-bit operators, for that reason.
 */
import { EMPTY_ROOT, nodeHash } from './hash.ts';

/**
 * Hash of the perfect subtree of 2^level leaves starting at leaf index
 * `index * 2^level` (an RFC 6962 node), for subtrees fully inside the log.
 * Level 0 is the leaf hashes themselves.
 */
export interface SubtreeSource {
  perfect(level: number, index: number): Uint8Array;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** RFC 6962 §2.1: k is the largest power of two smaller than n (n >= 2). */
function splitOf(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH(D[start:end]) composed from perfect subtrees: the tree of n leaves is
 * the perfect subtrees of its binary digits, largest first, folded from the
 * right. Exact for every range RFC 6962's recursion produces, whose start is a
 * multiple of the largest power of two <= its length; others are refused.
 *
 * @example
 * subtreeHash(src, 4, 7); // MTH of leaves 4, 5, 6
 */
export function subtreeHash(src: SubtreeSource, start: number, end: number): Uint8Array {
  if (!isCount(start) || !isCount(end) || end < start) throw new RangeError(`no leaf range [${start}, ${end})`);
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  let top = 1;
  while (top * 2 <= n) top *= 2;
  if (start % top !== 0) throw new RangeError(`range [${start}, ${end}) is not a subtree of an RFC 6962 tree`);
  let acc: Uint8Array | undefined;
  for (let size = 1, level = 0; size <= n; size *= 2, level++) {
    if (Math.floor(n / size) % 2 === 0) continue;
    // The larger pieces sit to the left of this one.
    const h = src.perfect(level, (start + n - (n % (2 * size))) / size);
    acc = acc === undefined ? h : nodeHash(h, acc);
  }
  return acc ?? EMPTY_ROOT;
}

/**
 * The tree head: MTH of the first `size` leaves.
 *
 * @example
 * toHex(rootAt(memorySource([]), 0)); // 'e3b0c442…b855'
 */
export function rootAt(src: SubtreeSource, size: number): Uint8Array {
  return subtreeHash(src, 0, size);
}

/**
 * RFC 6962 §2.1.1 PATH(m, D[n]): the audit path of leaf `index` in the tree
 * of the first `size` leaves, the leaf's sibling first.
 *
 * @example
 * verifyInclusion(leaf, 5, 8, inclusionProof(src, 5, 8), rootAt(src, 8)); // true
 */
export function inclusionProof(src: SubtreeSource, index: number, size: number): Uint8Array[] {
  if (!isCount(index) || !isCount(size) || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const topDown: Uint8Array[] = [];
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = splitOf(n);
    if (m < k) {
      topDown.push(subtreeHash(src, start + k, start + n)); // PATH(m, D[0:k]) : MTH(D[k:n])
      n = k;
    } else {
      topDown.push(subtreeHash(src, start, start + k)); // PATH(m - k, D[k:n]) : MTH(D[0:k])
      start += k;
      m -= k;
      n -= k;
    }
  }
  return topDown.reverse();
}

/**
 * RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true). A proof from 0
 * (the empty tree is a prefix of every tree) or to the same size is empty.
 *
 * @example
 * verifyConsistency(6, 8, rootAt(src, 6), rootAt(src, 8), consistencyProof(src, 6, 8)); // true
 */
export function consistencyProof(src: SubtreeSource, from: number, to: number): Uint8Array[] {
  if (!isCount(from) || !isCount(to) || from > to) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  if (from === 0 || from === to) return [];
  const topDown: Uint8Array[] = [];
  let start = 0;
  let m = from;
  let n = to;
  let whole = true; // SUBPROOF's b: is D[0:m] still the whole old tree?
  while (m !== n) {
    const k = splitOf(n);
    if (m <= k) {
      topDown.push(subtreeHash(src, start + k, start + n)); // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      n = k;
    } else {
      topDown.push(subtreeHash(src, start, start + k)); // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      start += k;
      m -= k;
      n -= k;
      whole = false;
    }
  }
  // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
  const proof = topDown.reverse();
  if (!whole) proof.unshift(subtreeHash(src, start, start + m));
  return proof;
}
