import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  createFrontier,
  EMPTY_ROOT,
  equalHash,
  Frontier,
  hashFromHex,
  inclusionProof,
  leafHash,
  memorySource,
  nodeHash,
  rightEdge,
  rootAt,
  subtreeHash,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type FrontierNode,
} from './index.ts';

// ---------------------------------------------------------------------------
// An independent reference, written straight from RFC 6962 §2.1 over arrays of
// leaf byte strings. It shares no code with the module under test.
// ---------------------------------------------------------------------------

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const refLeaf = (d: Uint8Array): Uint8Array => sha256(Uint8Array.of(0), d);
const refNode = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(Uint8Array.of(1), l, r);
const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
const hex = (a: Uint8Array): string => Buffer.from(a).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** The largest power of two smaller than n. */
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

function MTH(D: readonly Uint8Array[]): Uint8Array {
  const n = D.length;
  if (n === 0) return sha256();
  if (n === 1) return refLeaf(D[0] as Uint8Array);
  return refNode(MTH(D.slice(0, k(n))), MTH(D.slice(k(n))));
}

function PATH(m: number, D: readonly Uint8Array[]): Uint8Array[] {
  const n = D.length;
  if (n === 1) return [];
  const kk = k(n);
  return m < kk ? [...PATH(m, D.slice(0, kk)), MTH(D.slice(kk))] : [...PATH(m - kk, D.slice(kk)), MTH(D.slice(0, kk))];
}

function SUBPROOF(m: number, D: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = D.length;
  if (m === n) return b ? [] : [MTH(D)];
  const kk = k(n);
  return m <= kk ? [...SUBPROOF(m, D.slice(0, kk), b), MTH(D.slice(kk))] : [...SUBPROOF(m - kk, D.slice(kk), false), MTH(D.slice(0, kk))];
}

const PROOF = (m: number, D: readonly Uint8Array[]): Uint8Array[] => SUBPROOF(m, D, true);

/** The root PATH(m, D[n]) implies for `leaf`, read back through the same recursion; null if the proof has the wrong length. */
function refRootFromPath(leaf: Uint8Array, m: number, n: number, proof: readonly Uint8Array[]): Uint8Array | null {
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
function refRootsFromSubproof(m: number, n: number, b: boolean, proof: readonly Uint8Array[], given: Uint8Array): [Uint8Array, Uint8Array] | null {
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
const refVerifyInclusion = (leaf: Uint8Array, m: number, n: number, proof: readonly Uint8Array[], root: Uint8Array): boolean => {
  if (!(m >= 0 && m < n)) return false;
  const r = refRootFromPath(leaf, m, n, proof);
  return r !== null && eq(r, root);
};
const refVerifyConsistency = (m: number, n: number, r1: Uint8Array, r2: Uint8Array, proof: readonly Uint8Array[]): boolean => {
  if (m < 0 || m > n) return false;
  if (m === 0) return proof.length === 0 && eq(r1, sha256()) && (n > 0 || eq(r2, sha256()));
  if (m === n) return proof.length === 0 && eq(r1, r2);
  const s = refRootsFromSubproof(m, n, true, proof, r1);
  return s !== null && eq(s[0], r1) && eq(s[1], r2);
};

// ---------------------------------------------------------------------------

/** Leaves of varied lengths, so no two leaf hashes coincide. */
const LEAVES: Uint8Array[] = Array.from({ length: 70 }, (_, i) => Uint8Array.from({ length: 1 + (i % 7) }, (_, j) => (i * 31 + j * 7) & 0xff));
const LEAF_HASHES = LEAVES.map((l) => leafHash(l));
const SRC = memorySource(LEAF_HASHES);
const MAX = LEAVES.length;
const REF_ROOTS = Array.from({ length: MAX + 1 }, (_, n) => MTH(LEAVES.slice(0, n)));

const flipBit = (proof: readonly Uint8Array[], at: number, bit: number): Uint8Array[] =>
  proof.map((p, i) => {
    if (i !== at) return p;
    const copy = p.slice();
    copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
    return copy;
  });

describe('hashing (RFC 6962 §2.1)', () => {
  it('hashes the empty tree, leaves and nodes with their own prefixes', () => {
    expect(toHex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(leafHash(new Uint8Array(0)))).toBe(hex(sha256(Uint8Array.of(0))));
    const [a, b] = [leafHash('a'), leafHash('b')];
    expect(toHex(nodeHash(a, b))).toBe(hex(sha256(Uint8Array.of(1), a, b)));
    expect(toHex(nodeHash(b, a))).not.toBe(toHex(nodeHash(a, b)));
  });

  it('hashes a string as its UTF-8 bytes, including large ones', () => {
    for (const s of ['', 'é', '{"seq":1}', '😀 ∑', 'x'.repeat(10_000)]) {
      expect(toHex(leafHash(s))).toBe(hex(refLeaf(new TextEncoder().encode(s))));
      expect(toHex(leafHash(new TextEncoder().encode(s)))).toBe(hex(refLeaf(new TextEncoder().encode(s))));
    }
  });

  it('refuses to join anything but two 32-byte hashes', () => {
    expect(() => nodeHash(new Uint8Array(31), EMPTY_ROOT)).toThrow(TypeError);
    expect(() => nodeHash(EMPTY_ROOT, new Uint8Array(33))).toThrow(TypeError);
  });

  it('reads and writes hashes as hex, and nothing else', () => {
    const h = leafHash('x');
    expect(equalHash(hashFromHex(toHex(h)), h)).toBe(true);
    expect(equalHash(hashFromHex(toHex(h).toUpperCase()), h)).toBe(true);
    for (const bad of ['', 'ab', toHex(h).slice(1), `${toHex(h)}00`, `${toHex(h).slice(2)}zz`]) expect(() => hashFromHex(bad)).toThrow(TypeError);
  });
});

// RFC 6962 vectors as published in transparency-dev/merkle (formerly
// certificate-transparency-go/merkle): testonly/constants.go for the leaves and
// roots, proof/verify_test.go for the proofs (its leaf numbers are 1-based).
describe('the published RFC 6962 test vectors', () => {
  const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
  const roots = [
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
  const inclusion = [
    { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
    { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
    { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
    { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
    { index: 0, size: 1, proof: [] },
  ];
  const consistency = [
    { from: 1, to: 1, proof: [] },
    { from: 1, to: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
    { from: 6, to: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
    { from: 2, to: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
    { from: 6, to: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  ];
  const src = memorySource(inputs.map((l) => leafHash(l)));
  const root = (n: number) => hashFromHex(roots[n] as string);

  it('gives the published root for every size 0..8, from a source and from a frontier', () => {
    const f = createFrontier();
    expect(toHex(f.root())).toBe(roots[0]);
    for (let n = 0; n <= 8; n++) {
      expect(toHex(rootAt(src, n)), `size ${n}`).toBe(roots[n]);
      if (n > 0) f.append(leafHash(inputs[n - 1] as Uint8Array));
      expect(toHex(f.root()), `frontier size ${n}`).toBe(roots[n]);
    }
  });

  it('generates and accepts the published inclusion proofs', () => {
    for (const v of inclusion) {
      expect(inclusionProof(src, v.index, v.size).map(toHex), `${v.index}/${v.size}`).toEqual(v.proof);
      const leaf = leafHash(inputs[v.index] as Uint8Array);
      expect(verifyInclusion(leaf, v.index, v.size, v.proof.map(hashFromHex), root(v.size))).toBe(true);
    }
  });

  it('generates and accepts the published consistency proofs', () => {
    for (const v of consistency) {
      expect(consistencyProof(src, v.from, v.to).map(toHex), `${v.from}→${v.to}`).toEqual(v.proof);
      expect(verifyConsistency(v.from, v.to, root(v.from), root(v.to), v.proof.map(hashFromHex))).toBe(true);
    }
  });
});

describe('tree heads and subtrees against the reference', () => {
  it('rootAt is MTH for every size 0..70', () => {
    for (let n = 0; n <= MAX; n++) expect(toHex(rootAt(SRC, n)), `size ${n}`).toBe(hex(REF_ROOTS[n] as Uint8Array));
  });

  it('subtreeHash is MTH of every range RFC 6962 can ask for, and refuses the rest', () => {
    let aligned = 0;
    for (let start = 0; start <= MAX; start++) {
      for (let end = start; end <= MAX; end++) {
        const n = end - start;
        let top = 1;
        while (top * 2 <= n) top *= 2;
        if (n === 0 || start % top === 0) {
          expect(toHex(subtreeHash(SRC, start, end)), `[${start}, ${end})`).toBe(hex(MTH(LEAVES.slice(start, end))));
          aligned++;
        } else {
          expect(() => subtreeHash(SRC, start, end), `[${start}, ${end})`).toThrow(RangeError);
        }
      }
    }
    expect(aligned).toBeGreaterThan(MAX);
  });

  it('refuses sizes and ranges outside the log', () => {
    expect(() => rootAt(SRC, MAX + 1)).toThrow(RangeError);
    expect(() => rootAt(SRC, -1)).toThrow(RangeError);
    expect(() => rootAt(SRC, 1.5)).toThrow(RangeError);
    expect(() => subtreeHash(SRC, 4, 2)).toThrow(RangeError);
    expect(() => SRC.perfect(3, 9)).toThrow(RangeError);
  });
});

describe('inclusion proofs (RFC 6962 PATH, RFC 9162 §2.1.3.2)', () => {
  it('match PATH for every leaf of every size 1..70, verify, and fail exactly when the RFC 6962 recursion says so', () => {
    const failures: string[] = [];
    const expectThat = (ok: boolean, what: string) => void (ok || failures.push(what));
    let checked = 0;
    let sameShape = 0;
    for (let n = 1; n <= MAX; n++) {
      const D = LEAVES.slice(0, n);
      const root = REF_ROOTS[n] as Uint8Array;
      for (let m = 0; m < n; m++) {
        const at = `leaf ${m} of ${n}`;
        const proof = inclusionProof(SRC, m, n);
        expectThat(proof.map(toHex).join() === PATH(m, D).map(hex).join(), `${at}: differs from PATH`);
        const leaf = LEAF_HASHES[m] as Uint8Array;
        expectThat(verifyInclusion(leaf, m, n, proof, root), `${at}: not accepted`);

        // Tampered proofs, a wrong leaf, a wrong root: always rejected.
        const tampered: [string, Uint8Array[]][] = [['extra root', [...proof, root]], ['root first', [root, ...proof]], ['extra zeros', [...proof, new Uint8Array(32)]]];
        if (proof.length > 0) tampered.push(['last removed', proof.slice(0, -1)], ['first removed', proof.slice(1)]);
        proof.forEach((_, i) => tampered.push([`element ${i} bit-flipped`, flipBit(proof, i, (m * 67 + n * 13 + i * 101) % 256)]));
        for (const [how, t] of tampered) expectThat(!verifyInclusion(leaf, m, n, t, root), `${at}: accepted with ${how}`);
        expectThat(!verifyInclusion(LEAF_HASHES[(m + 1) % MAX] as Uint8Array, m, n, proof, root), `${at}: accepted another leaf`);
        expectThat(!verifyInclusion(leaf, m, n, proof, REF_ROOTS[n - 1] as Uint8Array), `${at}: accepted the previous root`);

        // Another index in the same tree: a path's shape names one leaf, so always rejected.
        for (const other of [m - 1, m + 1, m ^ 1, m ^ 2, n - 1 - m, 0, n - 1]) {
          if (other >= 0 && other < n && other !== m) expectThat(!verifyInclusion(leaf, other, n, proof, root), `${at}: accepted as leaf ${other}`);
        }

        // Another size: RFC 9162's algorithm sees only the path's shape, so a size whose tree
        // gives leaf m the same shape is (rightly) accepted; it must agree with the reference.
        for (const size of [n - 1, n + 1, n * 2, Math.floor(n / 2), m, m + 2, 2 ** Math.ceil(Math.log2(n + 1))]) {
          if (size === n) continue;
          const accepted = verifyInclusion(leaf, m, size, proof, root);
          expectThat(accepted === refVerifyInclusion(leaf, m, size, proof, root), `${at}: read as size ${size}, disagrees with the reference`);
          if (accepted) sameShape++;
        }
        expectThat(!verifyInclusion(leaf, m, n * 2, proof, root), `${at}: accepted as size ${n * 2}`);
        checked++;
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe((MAX * (MAX + 1)) / 2);
    expect(sameShape).toBeGreaterThan(0);
    // For example leaf 0 has the same shape in trees of 3 and 4.
    expect(verifyInclusion(LEAF_HASHES[0] as Uint8Array, 0, 4, inclusionProof(SRC, 0, 3), REF_ROOTS[3] as Uint8Array)).toBe(true);
  });

  it('rejects every single-bit flip of every proof element (sizes 7, 8 and 13, all leaves)', () => {
    const accepted: string[] = [];
    for (const n of [7, 8, 13]) {
      const root = REF_ROOTS[n] as Uint8Array;
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(SRC, m, n);
        for (let i = 0; i < proof.length; i++) {
          for (let bit = 0; bit < 256; bit++) {
            if (verifyInclusion(LEAF_HASHES[m] as Uint8Array, m, n, flipBit(proof, i, bit), root)) accepted.push(`leaf ${m} of ${n}, element ${i} bit ${bit}`);
          }
        }
      }
    }
    expect(accepted).toEqual([]);
  });

  it('has no proof for a leaf outside the tree: generation throws, verification fails', () => {
    for (const [index, size] of [[0, 0], [5, 5], [6, 5], [-1, 5], [0.5, 5]] as const) {
      expect(() => inclusionProof(SRC, index, size)).toThrow(RangeError);
      expect(verifyInclusion(LEAF_HASHES[0] as Uint8Array, index, size, [], REF_ROOTS[size] as Uint8Array)).toBe(false);
    }
    // Leaf 5 of 5 with the proof of leaf 4 and the root of 5.
    expect(verifyInclusion(LEAF_HASHES[4] as Uint8Array, 5, 5, inclusionProof(SRC, 4, 5), REF_ROOTS[5] as Uint8Array)).toBe(false);
    expect(verifyInclusion(EMPTY_ROOT, 0, 0, [], EMPTY_ROOT)).toBe(false);
  });

  it('a one-leaf tree proves its leaf with an empty path, and rejects malformed hashes', () => {
    const leaf = LEAF_HASHES[0] as Uint8Array;
    expect(inclusionProof(SRC, 0, 1)).toEqual([]);
    expect(verifyInclusion(leaf, 0, 1, [], leaf)).toBe(true);
    expect(verifyInclusion(leaf, 0, 1, [], EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(new Uint8Array(0), 0, 1, [], leaf)).toBe(false);
    expect(verifyInclusion(leaf, 0, 2, [new Uint8Array(31)], leaf)).toBe(false);
  });
});

describe('consistency proofs (RFC 6962 PROOF, RFC 9162 §2.1.4.2)', () => {
  it('match PROOF for every pair of sizes 1 <= m < n <= 70, verify, and fail exactly when the RFC 6962 recursion says so', () => {
    const failures: string[] = [];
    const expectThat = (ok: boolean, what: string) => void (ok || failures.push(what));
    let checked = 0;
    let sameShape = 0;
    for (let n = 2; n <= MAX; n++) {
      const D = LEAVES.slice(0, n);
      const r2 = REF_ROOTS[n] as Uint8Array;
      for (let m = 1; m < n; m++) {
        const at = `${m}→${n}`;
        const r1 = REF_ROOTS[m] as Uint8Array;
        const proof = consistencyProof(SRC, m, n);
        expectThat(proof.map(toHex).join() === PROOF(m, D).map(hex).join(), `${at}: differs from PROOF`);
        expectThat(verifyConsistency(m, n, r1, r2, proof), `${at}: not accepted`);

        const tampered: [string, Uint8Array[]][] = [
          ['empty proof', []],
          ['extra old root', [...proof, r1]],
          ['extra new root', [...proof, r2]],
          ['old root first', [r1, ...proof]],
          ['new root first', [r2, ...proof]],
          ['last removed', proof.slice(0, -1)],
          ['first removed', proof.slice(1)],
        ];
        if (proof[0] !== undefined) tampered.push(['first repeated', [proof[0], ...proof]]);
        proof.forEach((_, i) => tampered.push([`element ${i} bit-flipped`, flipBit(proof, i, (m * 89 + n * 7 + i * 53) % 256)]));
        for (const [how, t] of tampered) expectThat(!verifyConsistency(m, n, r1, r2, t), `${at}: accepted with ${how}`);
        expectThat(!verifyConsistency(m, n, r2, r1, proof), `${at}: accepted with the roots swapped`);
        expectThat(!verifyConsistency(m, n, r1, REF_ROOTS[n - 1] as Uint8Array, proof), `${at}: accepted a wrong new root`);
        expectThat(!verifyConsistency(m, n, REF_ROOTS[m - 1] as Uint8Array, r2, proof), `${at}: accepted a wrong old root`);

        // Other sizes: as for inclusion, only the shape is checked; agree with the reference.
        const probes = [[m - 1, n], [m + 1, n], [m ^ 2, n], [m, n + 1], [m, n - 1], [m, n * 2], [m, Math.floor(n / 2)], [n, m]] as const;
        for (const [a, b] of probes) {
          if (a === m && b === n) continue;
          const accepted = verifyConsistency(a, b, r1, r2, proof);
          expectThat(accepted === refVerifyConsistency(a, b, r1, r2, proof), `${at}: read as ${a}→${b}, disagrees with the reference`);
          if (accepted) sameShape++;
        }
        checked++;
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(((MAX - 1) * MAX) / 2);
    expect(sameShape).toBeGreaterThan(0);
    // For example 1→3 and 1→4 have the same shape.
    expect(verifyConsistency(1, 4, REF_ROOTS[1] as Uint8Array, REF_ROOTS[3] as Uint8Array, consistencyProof(SRC, 1, 3))).toBe(true);
  });

  it('rejects every single-bit flip of every proof element (all pairs up to 13)', () => {
    const accepted: string[] = [];
    for (let n = 2; n <= 13; n++) {
      for (let m = 1; m < n; m++) {
        const proof = consistencyProof(SRC, m, n);
        for (let i = 0; i < proof.length; i++) {
          for (let bit = 0; bit < 256; bit++) {
            if (verifyConsistency(m, n, REF_ROOTS[m] as Uint8Array, REF_ROOTS[n] as Uint8Array, flipBit(proof, i, bit))) accepted.push(`${m}→${n}, element ${i} bit ${bit}`);
          }
        }
      }
    }
    expect(accepted).toEqual([]);
  });

  it('between equal sizes is empty: accepted with equal roots, rejected with any proof element', () => {
    for (let n = 0; n <= MAX; n++) {
      const r = REF_ROOTS[n] as Uint8Array;
      expect(consistencyProof(SRC, n, n)).toEqual([]);
      expect(verifyConsistency(n, n, r, r, [])).toBe(true);
      expect(verifyConsistency(n, n, r, r, [r])).toBe(false);
      expect(verifyConsistency(n, n, r, REF_ROOTS[(n + 1) % MAX] as Uint8Array, [])).toBe(false);
    }
  });

  it('from the empty tree is empty and needs the empty root as the old head', () => {
    for (let n = 0; n <= MAX; n++) {
      const r = REF_ROOTS[n] as Uint8Array;
      expect(consistencyProof(SRC, 0, n)).toEqual([]);
      expect(verifyConsistency(0, n, EMPTY_ROOT, r, [])).toBe(true);
      expect(verifyConsistency(0, n, EMPTY_ROOT, r, [r])).toBe(false);
      expect(verifyConsistency(0, n, EMPTY_ROOT, r, [EMPTY_ROOT])).toBe(false);
      expect(verifyConsistency(0, n, leafHash('not empty'), r, [])).toBe(false);
    }
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(true);
    expect(verifyConsistency(0, 0, EMPTY_ROOT, REF_ROOTS[1] as Uint8Array, [])).toBe(false);
  });

  it('cannot go back in time or past the log', () => {
    expect(() => consistencyProof(SRC, 5, 4)).toThrow(RangeError);
    expect(() => consistencyProof(SRC, -1, 4)).toThrow(RangeError);
    expect(() => consistencyProof(SRC, 4, MAX + 1)).toThrow(RangeError);
    expect(verifyConsistency(5, 4, REF_ROOTS[5] as Uint8Array, REF_ROOTS[4] as Uint8Array, consistencyProof(SRC, 4, 5))).toBe(false);
    expect(verifyConsistency(1, 0, REF_ROOTS[1] as Uint8Array, EMPTY_ROOT, [])).toBe(false);
    expect(verifyConsistency(2, 3.5, REF_ROOTS[2] as Uint8Array, REF_ROOTS[3] as Uint8Array, consistencyProof(SRC, 2, 3))).toBe(false);
  });
});

describe('memorySource', () => {
  it('gives every perfect subtree, memoised or not, and only those inside the log', () => {
    for (let level = 0; 2 ** level <= MAX; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= MAX; index++) {
        expect(toHex(SRC.perfect(level, index)), `level ${level} index ${index}`).toBe(hex(MTH(LEAVES.slice(index * 2 ** level, (index + 1) * 2 ** level))));
      }
      expect(() => SRC.perfect(level, Math.floor(MAX / 2 ** level))).toThrow(RangeError);
    }
    expect(() => SRC.perfect(-1, 0)).toThrow(RangeError);
  });

  it('is not changed by a caller writing to a hash it handed out', () => {
    const src = memorySource(LEAF_HASHES);
    const before = toHex(src.perfect(5, 1));
    src.perfect(5, 1).fill(0);
    expect(toHex(src.perfect(5, 1))).toBe(before);
    expect(toHex(rootAt(src, MAX))).toBe(hex(REF_ROOTS[MAX] as Uint8Array));
  });
});

describe('the frontier', () => {
  it('reports every perfect subtree an append completes, each equal to the source', () => {
    const f = createFrontier();
    const seen = new Set<string>();
    for (let i = 0; i < MAX; i++) {
      const { newNodes } = f.append(LEAF_HASHES[i] as Uint8Array);
      expect(newNodes[0]).toEqual({ level: 0, index: i, hash: LEAF_HASHES[i] });
      for (const node of newNodes) {
        expect(toHex(node.hash), `level ${node.level} index ${node.index}`).toBe(toHex(SRC.perfect(node.level, node.index)));
        seen.add(`${node.level}:${node.index}`);
      }
      expect(f.size).toBe(i + 1);
      expect(f.nodes().map(({ level, index }) => ({ level, index }))).toEqual(rightEdge(i + 1));
    }
    // Every perfect subtree of the final tree, reported exactly once (2n - popcount(n) of them).
    expect(seen.size).toBe(2 * MAX - rightEdge(MAX).length);
  });

  it('push keeps the same edge and roots as append, without reporting nodes', () => {
    const a = createFrontier();
    const b = createFrontier();
    for (let i = 0; i < MAX; i++) {
      a.append(LEAF_HASHES[i] as Uint8Array);
      b.push(LEAF_HASHES[i] as Uint8Array);
      expect(b.size).toBe(a.size);
      expect(toHex(b.root())).toBe(toHex(a.root()));
      expect(b.nodes()).toEqual(a.nodes());
    }
    expect(() => b.push(new Uint8Array(31))).toThrow(TypeError);
  });

  it('lists the right edge left to right', () => {
    expect(rightEdge(0)).toEqual([]);
    expect(rightEdge(6)).toEqual([{ level: 2, index: 0 }, { level: 1, index: 2 }]);
    expect(rightEdge(7)).toEqual([{ level: 2, index: 0 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
    expect(rightEdge(8)).toEqual([{ level: 3, index: 0 }]);
  });

  it('will not restore from an edge with a node missing, and takes only leaf hashes', () => {
    const f = createFrontier();
    for (const h of LEAF_HASHES.slice(0, 7)) f.append(h);
    expect(() => Frontier.from({ size: 7, nodes: f.nodes().slice(1) })).toThrow(RangeError);
    expect(() => Frontier.from({ size: 8, nodes: f.nodes() })).toThrow(RangeError);
    expect(() => f.append(new Uint8Array(31))).toThrow(TypeError);
  });

  it('gives MTH at every size for any leaves, and a restored frontier continues identically', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 48 }), fc.nat(), (leaves, cut) => {
        const split = leaves.length === 0 ? 0 : cut % (leaves.length + 1);
        const hashes = leaves.map((l) => leafHash(l));
        const f = createFrontier();
        const persisted: FrontierNode[] = [];
        expect(equalHash(f.root(), sha256())).toBe(true);
        let fromNodes: Frontier | undefined;
        let fromSource: Frontier | undefined;
        hashes.forEach((h, i) => {
          if (i === split) {
            fromNodes = Frontier.from({ size: i, nodes: persisted });
            fromSource = Frontier.from({ size: i, source: memorySource(hashes.slice(0, i)) });
          }
          const done = f.append(h).newNodes;
          persisted.push(...done);
          if (fromNodes && fromSource) {
            const a = fromNodes.append(h).newNodes;
            const b = fromSource.append(h).newNodes;
            expect(a.map((n) => `${n.level}:${n.index}:${toHex(n.hash)}`)).toEqual(done.map((n) => `${n.level}:${n.index}:${toHex(n.hash)}`));
            expect(b.map((n) => `${n.level}:${n.index}:${toHex(n.hash)}`)).toEqual(done.map((n) => `${n.level}:${n.index}:${toHex(n.hash)}`));
          }
          const want = hex(MTH(leaves.slice(0, i + 1)));
          expect(toHex(f.root())).toBe(want);
          if (fromNodes && fromSource) {
            expect(toHex(fromNodes.root())).toBe(want);
            expect(toHex(fromSource.root())).toBe(want);
            expect(fromNodes.size).toBe(i + 1);
          }
        });
      }),
      { numRuns: 60 },
    );
  });
});
