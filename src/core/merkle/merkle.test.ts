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
import { sha256, refLeaf, hex, unhex, MTH, LEAVES, LEAF_HASHES, SRC, MAX, REF_ROOTS } from '../../../test/support/rfc6962-reference.ts';

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
