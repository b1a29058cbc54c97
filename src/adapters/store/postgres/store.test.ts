/**
 * The store contract suites against PostgreSQL: one throw-away database per
 * file, migrated once, emptied before each test so no test sees another's rows.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../../core/audit.ts';
import { inclusionProof, leafHash, memorySource, rootAt, toHex } from '../../../core/merkle/index.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Mutation, Store } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { storeContract } from '../../../../test/contract/store.ts';
import { treeContract, type TreeTables } from '../../../../test/contract/store-tree.ts';
import { searchContract } from '../../../../test/contract/store-search.ts';
import { reviewsContract } from '../../../../test/contract/store-reviews.ts';
import { sessionContract } from '../../../../test/contract/store-sessions.ts';
import { passkeyContract } from '../../../../test/contract/store-passkeys.ts';
import { grantContract } from '../../../../test/contract/store-grants.ts';
import { outboxContract } from '../../../../test/contract/store-outbox.ts';
import { auditDraft, human, requestRecord, reviewOf } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';
import { storeSide } from '../../../../test/support/postgres-store.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('postgres store', () => {
  beforeAll(async () => {
    // Migrated once; each test then starts from empty tables.
    await (await createPostgresStore({ url: db!.url })).close();
  });
  // One connection beside the stores for the whole file: it empties the tables before each test and is the outside
  // the tree and search cases read and change them from (a connection per use started a server backend each time).
  const side = storeSide(db?.url ?? '');
  afterAll(async () => {
    await side.close();
    await db?.drop();
  });

  async function fresh(outbox?: OutboxRouter) {
    await side.empty();
    const store = await createPostgresStore({ url: db!.url, poolSize: 4, ...(outbox ? { outbox } : {}) });
    return { store, cleanup: () => store.close() };
  }

  /** `fresh`, with the tables reached from outside the store and more stores over them, as other replicas. */
  async function withTables() {
    const { store, cleanup } = await fresh();
    const others: Store[] = [];
    const outside = side.query;
    const tables: TreeTables = {
      nodes: async () => (await outside('SELECT level, idx FROM merkle_nodes')).map((r) => [Number(r[0]), Number(r[1])]),
      async putNode(level, index, hash) {
        await outside('INSERT INTO merkle_nodes (level, idx, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [level, index, Buffer.from(hash)]);
      },
      async deleteNode(level, index) {
        await outside('DELETE FROM merkle_nodes WHERE level = $1 AND idx = $2', [level, index]);
      },
      async setBody(seq, body) {
        await outside('UPDATE audit_events SET body = $1 WHERE seq = $2', [body, seq]);
      },
      async deleteEvent(seq) {
        await outside('DELETE FROM audit_events WHERE seq = $1', [seq]);
      },
      async reopen() {
        const other = await createPostgresStore({ url: db!.url, poolSize: 4 });
        others.push(other);
        return other;
      },
    };
    return {
      store,
      tables,
      async cleanup() {
        for (const s of others) await s.close();
        await cleanup();
      },
    };
  }

  storeContract('postgres store', () => fresh());
  treeContract('postgres store', withTables);
  searchContract('postgres store', async () => ({
    ...(await fresh()),
    rows: async (table: string) => (await side.query(`SELECT count(*)::int AS n FROM ${table}`))[0]![0] as number,
  }));
  sessionContract('postgres store', () => fresh());
  passkeyContract('postgres store', () => fresh());
  grantContract('postgres store', () => fresh());
  reviewsContract('postgres store', () => fresh());
  outboxContract('postgres store', (router) => fresh(router));

  describe('postgres store on its own', () => {
    it('takes up no right edge the head row keeps for another size: a build that does not write edges appended since', async () => {
      const { store, cleanup } = await fresh();
      const other = await createPostgresStore({ url: db!.url, poolSize: 2 });
      const c = new pg.Client({ connectionString: db!.url });
      await c.connect();
      try {
        for (let i = 0; i < 21; i++) await store.appendAudit([auditDraft(`a${i}`, null)]);
        // What an append by such a build leaves: the head moved on, the edge (here zeros of the new size's shape) did not.
        const { rows } = await c.query<{ n: number }>('SELECT octet_length(edge) AS n FROM audit_head');
        await c.query(`UPDATE audit_head SET edge = decode(repeat('00', $1::int), 'hex'), edge_seq = seq - 1`, [rows[0]!.n]);
        await other.appendAudit([auditDraft('b', null)]);
        await store.appendAudit([auditDraft('c', null)]);
        const leaves = (await store.readAudit(1, 100)).map((e) => leafHash(e.body));
        expect(leaves).toHaveLength(23);
        const head = { size: 23, root: toHex(rootAt(memorySource(leaves), 23)) };
        expect(await store.treeHead()).toEqual(head);
        expect(await other.treeHead()).toEqual(head);
        // A zero-length or mis-sized edge stored for the head's own size is not taken up either.
        await c.query(`UPDATE audit_head SET edge = '\\x00', edge_seq = seq`);
        await other.appendAudit([auditDraft('d', null)]);
        const more = (await store.readAudit(1, 100)).map((e) => leafHash(e.body));
        // Its own edge was for 22: it appended from one rebuilt, and answers the root from it.
        expect(await other.treeHead()).toEqual({ size: 24, root: toHex(rootAt(memorySource(more), 24)) });
      } finally {
        await c.end();
        await other.close();
        await cleanup();
      }
    });

    it('writes the rows of a batch together, yet an update over a known record that moved on applies to the stored one', async () => {
      const { store, cleanup } = await fresh();
      try {
        const r = requestRecord();
        await store.insertRequest(r, [auditDraft('request.created', r.id)]);
        const bump = (current: RequestRecord): Mutation<RequestRecord> => {
          const next = { ...current, version: current.version + 1 };
          return { result: next, next, audit: [auditDraft('bumped', current.id, { from: current.version })] };
        };
        const moved = await store.mutateRequest(r.id, bump);
        // Same tick: one transaction, whose rows are left for one statement; `r` is stale by now.
        const [others, stale, fresh1] = [requestRecord(), requestRecord(), requestRecord()];
        const settled = await Promise.allSettled([
          store.insertRequest(others, [auditDraft('request.created', others.id)]),
          store.mutateRequest(r.id, bump, r),
          store.insertRequest(stale, [auditDraft('request.created', stale.id)]),
          store.mutateRequest(moved.id, bump, moved),
          store.insertRequest(fresh1, [auditDraft('request.created', fresh1.id)]),
        ]);
        expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
        // Each update applied to what was stored when it ran: the stale one to `moved`, the next one to its result.
        expect(await store.getRequest(r.id)).toMatchObject({ version: r.version + 3 });
        for (const x of [others, stale, fresh1]) expect(await store.getRequest(x.id)).toEqual(x);
        const events = await store.readAudit(1, 100);
        expect(events.filter((e) => e.type === 'bumped').map((e) => e.data['from'])).toEqual([r.version, r.version + 1, r.version + 2]);
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
      } finally {
        await cleanup();
      }
    });

    it('applies two writes over the same known record in one batch one after the other, not one of them twice', async () => {
      const { store, cleanup } = await fresh();
      try {
        const r = requestRecord();
        await store.insertRequest(r, [auditDraft('request.created', r.id)]);
        await store.appendAudit([auditDraft('head known', null)]);
        const bump = (current: RequestRecord): Mutation<RequestRecord> => {
          const next = { ...current, version: current.version + 1 };
          return { result: next, next, audit: [auditDraft('bumped', current.id, { from: current.version })] };
        };
        // Same tick: one batch whose rows both name `r` at the version the caller knows; only one of them can apply to it.
        const both = await Promise.all([store.mutateRequest(r.id, bump, r), store.mutateRequest(r.id, bump, r)]);
        expect(both.map((x) => x.version).sort()).toEqual([r.version + 1, r.version + 2]);
        expect(await store.getRequest(r.id)).toMatchObject({ version: r.version + 2 });
        const events = await store.readAudit(1, 100);
        expect(events.filter((e) => e.type === 'bumped').map((e) => e.data['from'])).toEqual([r.version, r.version + 1]);
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
      } finally {
        await cleanup();
      }
    });

    it('chains every write on the head whichever replica moved it last, when replicas write in turn and at once', async () => {
      const { store, cleanup } = await fresh();
      const other = await createPostgresStore({ url: db!.url, poolSize: 4 });
      try {
        const written: RequestRecord[] = [];
        const submit = async (s: Store) => {
          const r = requestRecord();
          await s.insertRequest(r, [auditDraft('request.created', r.id)]);
          const done = await s.mutateRequest(r.id, (c) => ({ result: null, next: { ...c, status: 'succeeded', version: c.version + 1 } as RequestRecord, audit: [auditDraft('request.succeeded', c.id)] }), r);
          written.push(r);
          return done;
        };
        // In turn: each one's write after the other's finds the head moved from the one it wrote last.
        for (let i = 0; i < 6; i++) await submit(i % 2 === 0 ? store : other);
        // At once: both write batches over the same head.
        await Promise.all(Array.from({ length: 24 }, (_, i) => submit(i % 2 === 0 ? store : other)));
        const events = await store.readAudit(1, 1000);
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
        for (const r of written) {
          expect(events.filter((e) => e.requestId === r.id).map((e) => e.type)).toEqual(['request.created', 'request.succeeded']);
          expect(await other.getRequest(r.id)).toMatchObject({ status: 'succeeded', version: r.version + 1 });
        }
        const leaves = events.map((e) => leafHash(e.body));
        const head = { size: 60, root: toHex(rootAt(memorySource(leaves), 60)) };
        expect(await store.treeHead()).toEqual(head);
        expect(await other.treeHead()).toEqual(head);
      } finally {
        await other.close();
        await cleanup();
      }
    });

    it('records each review once when its batch is rolled back and run again because a review beside it was a second vote', async () => {
      const { store, cleanup } = await fresh();
      try {
        const [x, y] = [requestRecord(), requestRecord()];
        await store.insertRequest(x, [auditDraft('request.created', x.id)]);
        await store.insertRequest(y, [auditDraft('request.created', y.id)]);
        // A review the caller's fn does not refuse: only the database's (request, reviewer) key stops a second vote.
        const vote = (who: string) => (current: RequestRecord): Mutation<string> => {
          const review = reviewOf(current, human(who, ['sre']));
          const next = { ...current, reviews: [...current.reviews, review], version: current.version + 1 };
          return { result: who, next, review, audit: [auditDraft('review.recorded', current.id, { who })] };
        };
        await store.mutateRequest(y.id, vote('bob'));
        // Same tick: one transaction; bob's second vote fails after writing, so the batch is rolled back and rerun.
        const settled = await Promise.allSettled([
          store.mutateRequest(x.id, vote('alice')),
          store.mutateRequest(y.id, vote('bob')),
          store.mutateRequest(x.id, vote('carol')),
        ]);
        expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ALREADY_REVIEWED' });
        expect((await store.getRequest(x.id))!.reviews.map((r) => r.reviewer.id)).toEqual(['alice', 'carol']);
        expect(await store.getRequest(x.id)).toMatchObject({ version: x.version + 2 });
        expect((await store.getRequest(y.id))!.reviews.map((r) => r.reviewer.id)).toEqual(['bob']);
        const events = await store.readAudit(1, 100);
        expect(events.filter((e) => e.type === 'review.recorded').map((e) => `${e.requestId}:${String(e.data['who'])}`)).toEqual([`${y.id}:bob`, `${x.id}:alice`, `${x.id}:carol`]);
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
      } finally {
        await cleanup();
      }
    });

    it("judges a lost connection by the connection, not by the text of an error a write's own code threw", async () => {
      const { store, cleanup } = await fresh();
      try {
        const r = requestRecord();
        await store.insertRequest(r, [auditDraft('request.created', r.id)]);
        // A mutation whose code fails with a message that reads like a driver's (text from an upstream, an input).
        const odd = store.mutateRequest(r.id, () => {
          throw new Error('upstream said: Connection terminated unexpectedly');
        });
        // Same tick: shares odd's transaction, in its own savepoint.
        const beside = store.appendAudit([auditDraft('beside', null)]);
        await expect(odd).rejects.toThrow('upstream said');
        await beside;
        expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['request.created', 'beside']);
        // Alone in its transaction, too.
        const lone = store.mutateRequest(r.id, () => {
          throw new Error('upstream said: terminating connection');
        });
        await expect(lone).rejects.toThrow('upstream said');
        await store.appendAudit([auditDraft('after', null)]);
        expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['request.created', 'beside', 'after']);
      } finally {
        await cleanup();
      }
    });

    it('keeps the Merkle tree true to the log when a write fails after its events and nodes were written in a shared transaction', async () => {
      // The delivery of event `boom` cannot be enqueued: its write fails after its audit rows and tree nodes went in.
      const router: OutboxRouter = (e) => [{ channel: e.type === 'boom' ? 'broken' : 'slack', event: e.type, requestId: null, payload: {}, createdAt: e.time }];
      const { store, cleanup } = await fresh(router);
      const admin = new pg.Client({ connectionString: db!.url });
      await admin.connect();
      try {
        await admin.query(`CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'channel refused'; END $$;
                           CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW WHEN (NEW.channel = 'broken') EXECUTE FUNCTION refuse();`);
        await store.appendAudit([auditDraft('first', null)]);
        // Same tick: one transaction, each write in its own savepoint.
        const settled = await Promise.allSettled([store.appendAudit([auditDraft('a', null)]), store.appendAudit([auditDraft('boom', null), auditDraft('boom', null)]), store.appendAudit([auditDraft('b', null)])]);
        expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        await store.appendAudit([auditDraft('after', null)]);

        const events = await store.readAudit(1, 100);
        expect(events.map((e) => e.type)).toEqual(['first', 'a', 'b', 'after']);
        const leaves = events.map((e) => leafHash(e.body));
        const source = memorySource(leaves);
        expect(await store.treeHead()).toEqual({ size: 4, root: toHex(rootAt(source, 4)) });
        for (let size = 1; size <= 4; size++) expect(await store.rootAt(size)).toBe(toHex(rootAt(source, size)));
        expect(await store.inclusionProof(2, 4)).toEqual(inclusionProof(source, 2, 4).map(toHex));
      } finally {
        await admin.query('DROP TRIGGER IF EXISTS refuse ON outbox');
        await admin.end();
        await cleanup();
      }
    });

    it('keeps requests and the chain across a restart', async () => {
      const { store: before } = await fresh();
      const r = requestRecord();
      await before.insertRequest(r, [auditDraft('request.created', r.id)]);
      const head = await before.treeHead();
      await before.close();
      await before.close();

      const after = await createPostgresStore({ url: db!.url, mustExist: true });
      try {
        expect(await after.getRequest(r.id)).toEqual(r);
        expect(await after.treeHead()).toEqual(head);
        await after.appendAudit([auditDraft('gateway.started', null)]);
        const verifier = createChainVerifier();
        for (const e of await after.readAudit(1, 100)) verifier.push(e);
        expect(verifier.finish()).toMatchObject({ ok: true, count: 2 });
      } finally {
        await after.close();
      }
    });
  });
});

