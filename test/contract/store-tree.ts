/**
 * The audit tree part of the store contract: roots, proofs, checkpoints and
 * meta, each checked against the pure RFC 6962 code over the events' own
 * bytes, so any store that passes serves proofs an auditor can verify.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashFromHex, leafHash, memorySource, rootAt, toHex, verifyConsistency, verifyInclusion, EMPTY_ROOT } from '../../src/core/merkle/index.ts';
import type { Store } from '../../src/core/ports.ts';
import { auditDraft } from '../support/fixtures.ts';

export function treeContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${name}: audit tree`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => cleanup());

    async function leaves(): Promise<Uint8Array[]> {
      return (await store.readAudit(1, 100_000)).map((e) => leafHash(e.body));
    }

    it('has the empty root before any event', async () => {
      expect(await store.treeHead()).toEqual({ size: 0, root: toHex(EMPTY_ROOT) });
    });

    it('keeps the RFC 6962 root of the events’ bytes at every size, across many appends and batch sizes', async () => {
      for (let i = 0; i < 23; i++) await store.appendAudit(Array.from({ length: (i % 4) + 1 }, (_, j) => auditDraft('tick', null, { i, j })));
      const ls = await leaves();
      const head = await store.treeHead();
      expect(head.size).toBe(ls.length);
      expect(head.root).toBe(toHex(rootAt(memorySource(ls), ls.length)));
      for (const size of [1, 2, 3, 7, 8, 9, 31, ls.length]) {
        expect(await store.rootAt(size)).toBe(toHex(rootAt(memorySource(ls.slice(0, size)), size)));
      }
    });

    it('serves inclusion and consistency proofs that verify, and refuses sizes beyond the log', async () => {
      await store.appendAudit(Array.from({ length: 13 }, (_, i) => auditDraft('tick', null, { i })));
      const ls = await leaves();
      for (const size of [1, 5, 8, 13]) {
        const root = hashFromHex(await store.rootAt(size));
        for (let index = 0; index < size; index++) {
          const proof = (await store.inclusionProof(index, size)).map(hashFromHex);
          expect(verifyInclusion(ls[index]!, index, size, proof, root)).toBe(true);
        }
      }
      for (const [from, to] of [[1, 13], [5, 8], [8, 13], [13, 13], [0, 13]] as const) {
        const proof = (await store.consistencyProof(from, to)).map(hashFromHex);
        const fromRoot = hashFromHex(await store.rootAt(from));
        expect(verifyConsistency(from, to, fromRoot, hashFromHex(await store.rootAt(to)), proof)).toBe(true);
      }
      await expect(store.rootAt(14)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      await expect(store.inclusionProof(13, 13)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      await expect(store.consistencyProof(9, 8)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    });

    it('gives the perfect subtrees of a prefix, which rebuild its root', async () => {
      await store.appendAudit(Array.from({ length: 11 }, (_, i) => auditDraft('tick', null, { i })));
      const edge = await store.treeEdge(11);
      expect(edge.map((n) => [n.level, n.index])).toEqual([[3, 0], [1, 4], [0, 10]]);
      const ls = await leaves();
      expect(edge.map((n) => n.hash)).toEqual(edge.map((n) => toHex(memorySource(ls).perfect(n.level, n.index))));
    });

    it('stores checkpoints once per size and lists them in order', async () => {
      const cp = (size: number) => ({ size, root: 'aa'.repeat(32), keyId: '01020304', note: `note ${size}\n`, createdAt: '2026-11-21T00:00:00.000Z' });
      await store.insertCheckpoint(cp(5));
      await store.insertCheckpoint(cp(2));
      await store.insertCheckpoint({ ...cp(5), note: 'a second note for the same size is ignored\n' });
      expect((await store.checkpoints({})).map((c) => [c.size, c.note])).toEqual([[2, 'note 2\n'], [5, 'note 5\n']]);
      expect((await store.checkpoints({ fromSize: 3 })).map((c) => c.size)).toEqual([5]);
      expect((await store.checkpoints({ latest: true })).map((c) => c.size)).toEqual([5]);
    });

    it('sets meta in the same write as its audit events', async () => {
      expect(await store.getMeta('policy.hash')).toBeUndefined();
      await store.appendAudit([auditDraft('policy.loaded', null)], { 'policy.hash': 'sha256:abc' });
      expect(await store.getMeta('policy.hash')).toBe('sha256:abc');
      expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['policy.loaded']);
    });

    it('claims a meta key once: the first value stays, and every claim returns it', async () => {
      expect(await store.claimMeta('store.config', '/a/countersign.yaml')).toBe('/a/countersign.yaml');
      expect(await store.claimMeta('store.config', '/b/countersign.yaml')).toBe('/a/countersign.yaml');
      expect(await store.getMeta('store.config')).toBe('/a/countersign.yaml');
    });
  });
}
