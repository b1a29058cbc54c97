/**
 * An independent reference for the Merkle tree tests, written straight from RFC 6962 §2.1 over arrays of leaf
 * byte strings: it shares no code with src/core/merkle. Also the leaves the tests share, with their reference roots.
 */
import { createHash } from 'node:crypto';
import { leafHash, memorySource } from '../../src/core/merkle/index.ts';

export const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
export const refLeaf = (d: Uint8Array): Uint8Array => sha256(Uint8Array.of(0), d);
export const refNode = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(Uint8Array.of(1), l, r);
export const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
export const hex = (a: Uint8Array): string => Buffer.from(a).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** The largest power of two smaller than n. */
export function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

export function MTH(D: readonly Uint8Array[]): Uint8Array {
  const n = D.length;
  if (n === 0) return sha256();
  if (n === 1) return refLeaf(D[0] as Uint8Array);
  const start = runOfLeaves(D);
  const key = `${start}:${n}`;
  const known = start === undefined ? undefined : mthOfRuns.get(key);
  if (known) return known.slice();
  const h = refNode(MTH(D.slice(0, k(n))), MTH(D.slice(k(n))));
  if (start !== undefined) mthOfRuns.set(key, h.slice());
  return h;
}

/**
 * MTH of each run of the shared LEAVES, once: PATH and PROOF for every pair of sizes up to 70 ask for the same runs
 * over and over, and rehashing them was most of the CPU of those exhaustive tests (which timed out on a loaded CI
 * machine). Only a run of the very leaf objects of LEAVES, in order, is kept; any other array is hashed afresh.
 */
const mthOfRuns = new Map<string, Uint8Array>();
let leafIndex: Map<Uint8Array, number> | undefined;
function runOfLeaves(D: readonly Uint8Array[]): number | undefined {
  leafIndex ??= new Map(LEAVES.map((l, i) => [l, i]));
  const start = leafIndex.get(D[0] as Uint8Array);
  if (start === undefined) return undefined;
  for (let i = 1; i < D.length; i++) if (D[i] !== LEAVES[start + i]) return undefined;
  return start;
}

export function PATH(m: number, D: readonly Uint8Array[]): Uint8Array[] {
  const n = D.length;
  if (n === 1) return [];
  const kk = k(n);
  return m < kk ? [...PATH(m, D.slice(0, kk)), MTH(D.slice(kk))] : [...PATH(m - kk, D.slice(kk)), MTH(D.slice(0, kk))];
}

export function SUBPROOF(m: number, D: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = D.length;
  if (m === n) return b ? [] : [MTH(D)];
  const kk = k(n);
  return m <= kk ? [...SUBPROOF(m, D.slice(0, kk), b), MTH(D.slice(kk))] : [...SUBPROOF(m - kk, D.slice(kk), false), MTH(D.slice(0, kk))];
}

export const PROOF = (m: number, D: readonly Uint8Array[]): Uint8Array[] => SUBPROOF(m, D, true);

/** The root PATH(m, D[n]) implies for `leaf`, read back through the same recursion; null if the proof has the wrong length. */
export function refRootFromPath(leaf: Uint8Array, m: number, n: number, proof: readonly Uint8Array[]): Uint8Array | null {
  if (n === 1) return proof.length === 0 ? leaf : null;
  const x = proof[proof.length - 1];
  if (x === undefined) return null;
  const rest = proof.slice(0, -1);
  const kk = k(n);
  if (m < kk) {
    const l = refRootFromPath(leaf, m, kk, rest);
    return l && refNode(l, x);
  }
  const r = refRootFromPath(leaf, m - kk, n - kk, rest);
  return r && refNode(x, r);
}

/** [old root, new root] that SUBPROOF(m, D[n], b) implies, `given` standing for the old root where b holds. */
export function refRootsFromSubproof(m: number, n: number, b: boolean, proof: readonly Uint8Array[], given: Uint8Array): [Uint8Array, Uint8Array] | null {
  if (m === n) {
    if (b) return proof.length === 0 ? [given, given] : null;
    const only = proof[0];
    return proof.length === 1 && only !== undefined ? [only, only] : null;
  }
  const x = proof[proof.length - 1];
  if (x === undefined) return null;
  const rest = proof.slice(0, -1);
  const kk = k(n);
  if (m <= kk) {
    const s = refRootsFromSubproof(m, kk, b, rest, given);
    return s && [s[0], refNode(s[1], x)];
  }
  const s = refRootsFromSubproof(m - kk, n - kk, false, rest, given);
  return s && [refNode(x, s[0]), refNode(x, s[1])];
}

/** A verifier derived from the RFC 6962 definitions, to hold the RFC 9162 algorithms against. */
export const refVerifyInclusion = (leaf: Uint8Array, m: number, n: number, proof: readonly Uint8Array[], root: Uint8Array): boolean => {
  if (!(m >= 0 && m < n)) return false;
  const r = refRootFromPath(leaf, m, n, proof);
  return r !== null && eq(r, root);
};
export const refVerifyConsistency = (m: number, n: number, r1: Uint8Array, r2: Uint8Array, proof: readonly Uint8Array[]): boolean => {
  if (m < 0 || m > n) return false;
  if (m === 0) return proof.length === 0 && eq(r1, sha256()) && (n > 0 || eq(r2, sha256()));
  if (m === n) return proof.length === 0 && eq(r1, r2);
  const s = refRootsFromSubproof(m, n, true, proof, r1);
  return s !== null && eq(s[0], r1) && eq(s[1], r2);
};

/** Leaves of varied lengths, so no two leaf hashes coincide. */
export const LEAVES: Uint8Array[] = Array.from({ length: 70 }, (_, i) => Uint8Array.from({ length: 1 + (i % 7) }, (_, j) => (i * 31 + j * 7) & 0xff));
export const LEAF_HASHES = LEAVES.map((l) => leafHash(l));
export const SRC = memorySource(LEAF_HASHES);
export const MAX = LEAVES.length;
export const REF_ROOTS = Array.from({ length: MAX + 1 }, (_, n) => MTH(LEAVES.slice(0, n)));

export const flipBit = (proof: readonly Uint8Array[], at: number, bit: number): Uint8Array[] =>
  proof.map((p, i) => {
    if (i !== at) return p;
    const copy = p.slice();
    copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
    return copy;
  });
