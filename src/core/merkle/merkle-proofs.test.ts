import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from './index.ts';
import {
  hex,
  PATH,
  PROOF,
  refVerifyInclusion,
  refVerifyConsistency,
  LEAVES,
  LEAF_HASHES,
  SRC,
  MAX,
  REF_ROOTS,
  flipBit,
} from '../../../test/support/rfc6962-reference.ts';

/**
 * The exhaustive tests check about 2,500 proofs some 25 ways each: all CPU, 2–4 s alone, and they share two cores
 * with the rest of the suite in CI, where a load of 17 made them several times slower than the 30 s default allows.
 */
const EXHAUSTIVE_MS = 120_000;

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
  }, EXHAUSTIVE_MS);

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
  }, EXHAUSTIVE_MS);

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
