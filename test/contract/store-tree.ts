/**
 * The audit tree part of the store contract: roots, proofs, checkpoints and
 * meta, each checked against the pure RFC 6962 code over the events' own
 * bytes, so any store that passes serves proofs an auditor can verify.
 *
 * A store keeps only the larger perfect subtrees as rows and rehashes the
 * smaller ones from the events (src/adapters/store/sparse-tree.ts), so the
 * cases below cover every size around the stored blocks, a store whose
 * in-memory edge starts empty partway through a block, and a store written
 * when every level was a row.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  consistencyProof,
  hashFromHex,
  inclusionProof,
  leafHash,
  memorySource,
  rightEdge,
  rootAt,
  toHex,
  verifyConsistency,
  verifyInclusion,
  EMPTY_ROOT,
} from '../../src/core/merkle/index.ts';
import type { Store } from '../../src/core/ports.ts';
import { STORED_FROM_LEVEL } from '../../src/adapters/store/sparse-tree.ts';
import { auditDraft } from '../support/fixtures.ts';

/** The adapter's tables, reached from outside the store, and a second store over them. */
export interface TreeTables {
  /** Every row of `merkle_nodes`, as [level, index]. */
  nodes(): Promise<[number, number][]>;
  /** Adds a node row unless that node has one. */
  putNode(level: number, index: number, hash: Uint8Array): Promise<void>;
  deleteNode(level: number, index: number): Promise<void>;
  /** Overwrites an event's stored body, as damage from outside the gateway would. */
  setBody(seq: number, body: string): Promise<void>;
  deleteEvent(seq: number): Promise<void>;
  /** Another store over the same data (closed by the cleanup): its in-memory tree starts empty, as another process's does. */
  reopen(): Promise<Store>;
}

export function treeContract(name: string, make: () => Promise<{ store: Store; cleanup(): Promise<void>; tables: TreeTables }>): void {
  describe(`${name}: audit tree`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let tables: TreeTables;
    beforeEach(async () => {
      ({ store, cleanup, tables } = await make());
    });
    afterEach(async () => cleanup());

    async function leaves(): Promise<Uint8Array[]> {
      return (await store.readAudit(1, 100_000)).map((e) => leafHash(e.body));
    }

    it('has the empty root before any event', async () => {
      expect(await store.treeHead()).toEqual({ size: 0, root: toHex(EMPTY_ROOT) });
      expect(await store.auditSize()).toBe(0);
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

    /** Appends `count` events in batches of 1 to 7, so batches end on either side of every block boundary. */
    async function appendEvents(on: Store, count: number, tag: string): Promise<void> {
      for (let done = 0, batch = 1; done < count; done += batch, batch = (batch % 7) + 1) {
        const n = Math.min(batch, count - done);
        await on.appendAudit(Array.from({ length: n }, (_, j) => auditDraft('tick', null, { tag, i: done + j })));
      }
    }

    /**
     * Every root and edge of the log, and every inclusion and consistency proof in a tree of one of `sizes`, from `on`,
     * against an in-memory tree over the events' bytes: byte-equal to what the core computes, and verified by the
     * core verifiers.
     */
    async function expectTreeMatches(on: Store, ls: readonly Uint8Array[], sizes: readonly number[]): Promise<void> {
      const src = memorySource(ls);
      const roots = [EMPTY_ROOT];
      for (let size = 1; size <= ls.length; size++) {
        roots.push(rootAt(src, size));
        expect(await on.rootAt(size), `root at ${size}`).toBe(toHex(roots[size]!));
        const edge = await on.treeEdge(size);
        expect(edge, `edge at ${size}`).toEqual(rightEdge(size).map((n) => ({ ...n, hash: toHex(src.perfect(n.level, n.index)) })));
      }
      for (const size of sizes) {
        const inclusions = await Promise.all(Array.from({ length: size }, (_, index) => on.inclusionProof(index, size)));
        inclusions.forEach((proof, index) => {
          expect(proof, `inclusion of ${index} in ${size}`).toEqual(inclusionProof(src, index, size).map(toHex));
          expect(verifyInclusion(ls[index]!, index, size, proof.map(hashFromHex), roots[size]!)).toBe(true);
        });
        const consistencies = await Promise.all(Array.from({ length: size + 1 }, (_, from) => on.consistencyProof(from, size)));
        consistencies.forEach((proof, from) => {
          expect(proof, `consistency from ${from} to ${size}`).toEqual(consistencyProof(src, from, size).map(toHex));
          expect(verifyConsistency(from, size, roots[from]!, roots[size]!, proof.map(hashFromHex))).toBe(true);
        });
      }
    }

    /** The perfect subtrees of `size` leaves at the stored levels: the rows the store must hold, no more. */
    function storedNodes(size: number): [number, number][] {
      const out: [number, number][] = [];
      for (let level = STORED_FROM_LEVEL; 2 ** level <= size; level++) {
        for (let index = 0; (index + 1) * 2 ** level <= size; index++) out.push([level, index]);
      }
      return out;
    }

    const BLOCK = 2 ** STORED_FROM_LEVEL;
    const SIZES = 4 * BLOCK + 6;
    /** The sizes where a proof's small subtrees change shape: on and either side of each block boundary. */
    const around = (upTo: number) => [...new Set([1, 2, 3, upTo].concat(...Array.from({ length: Math.floor(upTo / BLOCK) }, (_, b) => [(b + 1) * BLOCK - 1, (b + 1) * BLOCK, (b + 1) * BLOCK + 1])))].filter((n) => n <= upTo);

    /**
     * The sizes whose every inclusion and consistency proof is checked: each size of the first block and the first of the
     * next (every shape the rehashed events of an unfinished block take, with no row yet, then under one), each size about
     * the later block boundaries, and each size of the last, unfinished block (shapes of it under rows of three levels).
     * Every size's proofs ask the same questions of the store in nearly three times the round trips (over 5,000, one query
     * each), which ran past a minute on a loaded CI machine.
     */
    const PROOF_SIZES = [...new Set([...Array.from({ length: BLOCK + 1 }, (_, i) => i + 1), ...around(SIZES), ...Array.from({ length: SIZES - 4 * BLOCK + 1 }, (_, i) => 4 * BLOCK + i)])];

    it('serves every root and edge up to several blocks of events, and every proof in trees of each shape an unfinished block takes, equal to the in-memory tree of the events', async () => {
      await appendEvents(store, SIZES, 'a');
      const ls = await leaves();
      expect(ls).toHaveLength(SIZES);
      expect(await store.treeHead()).toEqual({ size: SIZES, root: toHex(rootAt(memorySource(ls), SIZES)) });
      expect(await store.auditSize()).toBe(SIZES);
      await expectTreeMatches(store, ls, PROOF_SIZES);
    }, 60_000);

    it('keeps the perfect subtrees of 2^STORED_FROM_LEVEL events and up as rows, and no smaller ones', async () => {
      const sorted = (rows: [number, number][]) => [...rows].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      await appendEvents(store, BLOCK - 1, 'a');
      expect(await tables.nodes()).toEqual([]);
      await appendEvents(store, 1, 'b');
      expect(await tables.nodes()).toEqual([[STORED_FROM_LEVEL, 0]]);
      await appendEvents(store, 3 * BLOCK + 5, 'c');
      const rows = sorted(await tables.nodes());
      expect(rows).toEqual(sorted(storedNodes(4 * BLOCK + 5)));
      // 4 blocks, 2 pairs of them, 1 of 4 (where every level was kept, the same log had about 2 rows per event).
      expect(rows).toHaveLength(7);
    });

    it('goes on from the log, not from its own memory, when another store appended partway through a block', async () => {
      await appendEvents(store, BLOCK + 5, 'a');
      const other = await tables.reopen();
      // Its tree is rebuilt from the rows and the events of the unfinished block.
      expect(await other.treeHead()).toEqual(await store.treeHead());
      await appendEvents(other, BLOCK + 3, 'b');
      // This store's edge is stale now: it must rebuild it before appending.
      await appendEvents(store, BLOCK - 1, 'c');
      await appendEvents(other, 2, 'd');
      const ls = await leaves();
      expect(ls).toHaveLength(3 * BLOCK + 9);
      const head = { size: ls.length, root: toHex(rootAt(memorySource(ls), ls.length)) };
      expect(await store.treeHead()).toEqual(head);
      expect(await other.treeHead()).toEqual(head);
      expect(await tables.nodes()).toHaveLength(storedNodes(ls.length).length);
      await expectTreeMatches(other, ls, around(ls.length));
    }, 60_000);

    it('appends to and proves from a store written when every level was a row', async () => {
      await appendEvents(store, 2 * BLOCK + 5, 'a');
      // What the earlier stores wrote: every perfect subtree of the log, leaves included.
      const old = memorySource(await leaves());
      for (let level = 0; 2 ** level <= 2 * BLOCK + 5; level++) {
        for (let index = 0; (index + 1) * 2 ** level <= 2 * BLOCK + 5; index++) await tables.putNode(level, index, old.perfect(level, index));
      }
      const reopened = await tables.reopen();
      await appendEvents(reopened, 2 * BLOCK + 1, 'b');
      const ls = await leaves();
      const head = { size: ls.length, root: toHex(rootAt(memorySource(ls), ls.length)) };
      expect(await reopened.treeHead()).toEqual(head);
      expect(await store.treeHead()).toEqual(head);
      await expectTreeMatches(reopened, ls, around(ls.length));
    }, 60_000);

    it('rehashes the small subtrees from the events as stored: a changed event changes the roots that cover it from its block', async () => {
      await appendEvents(store, BLOCK + 3, 'a');
      const before = await leaves();
      const changed = '{"tampered":true}';
      await tables.setBody(BLOCK + 2, changed);
      const after = [...before];
      after[BLOCK + 1] = leafHash(changed);
      // The new store has no edge in memory: it reads what is stored.
      const reader = await tables.reopen();
      expect(await reader.rootAt(BLOCK + 3)).toBe(toHex(rootAt(memorySource(after), BLOCK + 3)));
      expect(await reader.rootAt(BLOCK + 3)).not.toBe(toHex(rootAt(memorySource(before), BLOCK + 3)));
      // A proof of the changed event fails against the root of the log as it was.
      const proof = (await reader.inclusionProof(BLOCK + 1, BLOCK + 3)).map(hashFromHex);
      expect(verifyInclusion(after[BLOCK + 1]!, BLOCK + 1, BLOCK + 3, proof, rootAt(memorySource(before), BLOCK + 3))).toBe(false);
    });

    it('refuses to answer from a tree that lost a stored row, as from a log that lost an event', async () => {
      await appendEvents(store, 2 * BLOCK + 3, 'a');
      const ls = await leaves();
      const reader = await tables.reopen();
      await tables.deleteNode(STORED_FROM_LEVEL, 1);
      await expect(reader.inclusionProof(0, 2 * BLOCK)).rejects.toThrow(`no node ${STORED_FROM_LEVEL}/1`);
      await expect(reader.consistencyProof(BLOCK, 2 * BLOCK)).rejects.toThrow(`no node ${STORED_FROM_LEVEL}/1`);
      // What does not read that row still answers.
      expect(await reader.inclusionProof(BLOCK, BLOCK + 1)).toEqual(inclusionProof(memorySource(ls), BLOCK, BLOCK + 1).map(toHex));
      // An event of the last, unfinished block is gone: no root over it, rather than the root of another log.
      await tables.deleteEvent(2 * BLOCK + 2);
      await expect(reader.treeHead()).rejects.toThrow(`no event ${2 * BLOCK + 2}`);
      await expect(reader.rootAt(2 * BLOCK + 3)).rejects.toThrow(`no event ${2 * BLOCK + 2}`);
      await expect(reader.inclusionProof(2 * BLOCK, 2 * BLOCK + 3)).rejects.toThrow(`no event ${2 * BLOCK + 2}`);
      await expect(reader.consistencyProof(2 * BLOCK + 1, 2 * BLOCK + 3)).rejects.toThrow(`no event ${2 * BLOCK + 2}`);
      // Its length is still known: an export or a status can go on and show the damage.
      expect(await reader.auditSize()).toBe(2 * BLOCK + 3);
    });
  });
}
