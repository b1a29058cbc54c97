/**
 * Several gateway replicas on one database: each store here has its own
 * pool, as a replica in another process would. They start together, race
 * for the same request, append to one audit log and claim from one outbox.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import { IdempotencyKeyTaken } from '../../../core/idempotency.ts';
import { consistencyProof, hashFromHex, inclusionProof, leafHash, memorySource, rootAt, toHex, verifyInclusion } from '../../../core/merkle/index.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Mutation, Store } from '../../../core/ports.ts';
import { transition, type RequestRecord } from '../../../core/request.ts';
import { approveDecision, at, auditDraft, FIXTURE_TIME, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore, type PostgresStoreOptions } from './index.ts';
import { MIGRATIONS } from './schema.ts';
import { termSetsFromTermsColumn } from './term-sets.ts';
import { requestTerms } from '../../../core/request-terms.ts';
import { EXPECTED_ANSWERS, searchAnswers, writeSearchable } from '../../../../test/support/term-upgrade.ts';
import { emptyStore } from '../../../../test/support/postgres-store.ts';

const db = await createTestDatabase();

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!db)('postgres store shared by replicas', () => {
  const opened: Store[] = [];
  const dropLater: { drop(): Promise<void> }[] = [];
  async function replica(options: Partial<PostgresStoreOptions> = {}, url = db!.url): Promise<Store> {
    const store = await createPostgresStore({ url, poolSize: 4, ...options });
    opened.push(store);
    return store;
  }

  beforeAll(async () => {
    await (await createPostgresStore({ url: db!.url })).close();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await emptyStore(db!.url);
  });
  afterAll(async () => {
    for (const d of dropLater) await d.drop();
    await db?.drop();
  });

  describe('migrations', () => {
    it('lets five replicas start at once on a new database: all open it, and each migration is applied once', async () => {
      const fresh = (await createTestDatabase())!;
      dropLater.push(fresh);
      const stores = await Promise.all(Array.from({ length: 5 }, () => replica({}, fresh.url)));
      const applied = await sql<{ version: number }>(fresh.url, 'SELECT version FROM schema_migrations ORDER BY version');
      expect(applied.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));

      const r = requestRecord();
      await stores[0]!.insertRequest(r, [auditDraft('request.created', r.id)]);
      for (const s of stores) expect(await s.getRequest(r.id)).toEqual(r);
    });

    it('refuses to open a database without the schema when told it must exist, and creates nothing', async () => {
      const fresh = (await createTestDatabase())!;
      dropLater.push(fresh);
      const e = await createPostgresStore({ url: fresh.url, mustExist: true }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CountersignError);
      expect(e).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('start the gateway first') });
      expect(await sql(fresh.url, `SELECT 1 FROM pg_tables WHERE schemaname = 'public'`)).toEqual([]);
      // Once a gateway made it, it opens.
      await replica({}, fresh.url);
      await replica({ mustExist: true }, fresh.url);
    });

    it('upgrades a database that kept a terms array per request, two replicas at once: every search finds what it found before', async () => {
      const fresh = (await createTestDatabase())!;
      dropLater.push(fresh);
      const first = await createPostgresStore({ url: fresh.url, poolSize: 2 });
      await writeSearchable(first);
      await first.close();
      // Back to the schema before term sets, with terms as the code before them wrote them: the terms of each stored
      // record under a GIN index, and one more on r0 (a term since gone from requestTerms) that must stay findable.
      const step = MIGRATIONS.indexOf(termSetsFromTermsColumn) + 1;
      expect(step).toBeGreaterThan(0);
      await sql(fresh.url, 'ALTER TABLE requests ADD COLUMN terms text[]');
      for (const row of await sql<{ id: string; record: string }>(fresh.url, 'SELECT id, record FROM requests')) {
        const terms = requestTerms(JSON.parse(row.record) as RequestRecord);
        await sql(fresh.url, 'UPDATE requests SET terms = $1 WHERE id = $2', [row.id === 'r0' ? [...terms, 'tag:legacy'] : terms, row.id]);
      }
      await sql(
        fresh.url,
        `ALTER TABLE requests ALTER COLUMN terms SET NOT NULL; CREATE INDEX requests_terms ON requests USING gin (terms);
         DROP INDEX requests_term_set; ALTER TABLE requests DROP COLUMN term_set; DROP TABLE term_sets; DROP TABLE term_set_members;
         DELETE FROM schema_migrations WHERE version = ${step}`,
      );

      const [a, b] = await Promise.all([replica({}, fresh.url), replica({}, fresh.url)]);
      expect(await searchAnswers(a)).toEqual(EXPECTED_ANSWERS);
      expect(await searchAnswers(b)).toEqual(EXPECTED_ANSWERS);
      expect((await b.listRequests({ tag: 'legacy' })).map((r) => r.id)).toEqual(['r0']);
      expect(await sql(fresh.url, `SELECT 1 FROM information_schema.columns WHERE table_name = 'requests' AND column_name = 'terms'`)).toEqual([]);
      const sets = async () => (await sql<{ n: number }>(fresh.url, 'SELECT count(*)::int AS n FROM term_sets'))[0]!.n;
      // Orders and billing, each allowed and approved, and billing denied (r11's replaced decision); r0's own.
      expect(await sets()).toBe(6);
      // Requests written now with a set the upgrade made take that set, on either replica.
      await a.insertRequest(requestRecord({ id: 'r12', createdAt: at(30) }), [auditDraft('request.submitted', 'r12', {}, at(30))]);
      await b.insertRequest(requestRecord({ id: 'r13', createdAt: at(31) }), [auditDraft('request.submitted', 'r13', {}, at(31))]);
      expect(await sets()).toBe(6);
      expect((await a.listRequests({ tag: 'env=prod', limit: 3 })).map((r) => r.id)).toEqual(['r13', 'r12', 'r10']);
    });

    it('upgrades a database from before idempotency keys, two replicas at once: its requests stay, keyed ones are one per principal and key', async () => {
      const fresh = (await createTestDatabase())!;
      dropLater.push(fresh);
      const first = await createPostgresStore({ url: fresh.url, poolSize: 2 });
      const old = requestRecord();
      await first.insertRequest(old, [auditDraft('request.submitted', old.id)]);
      await first.close();
      const step = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('idempotency_key')) + 1;
      expect(step).toBeGreaterThan(0);
      await sql(fresh.url, `DROP INDEX requests_idempotency; ALTER TABLE requests DROP COLUMN idempotency_key; DELETE FROM schema_migrations WHERE version = ${step}`);

      const [a, b] = await Promise.all([replica({}, fresh.url), replica({}, fresh.url)]);
      expect(await b.getRequest(old.id)).toEqual(old);
      // Two replicas racing under one key: one request.
      const racing = [requestRecord({ idempotencyKey: 'k' }), requestRecord({ idempotencyKey: 'k' })];
      const settled = await Promise.allSettled([a.insertRequest(racing[0]!, []), b.insertRequest(racing[1]!, [])]);
      expect(settled.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      const lost = settled.find((x) => x.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(IdempotencyKeyTaken);
      const winner = racing[settled.findIndex((x) => x.status === 'fulfilled')]!;
      expect(await a.findRequestByIdempotencyKey(winner.principal.id, 'k')).toEqual(winner);
      expect(await b.findRequestByIdempotencyKey(winner.principal.id, 'k')).toEqual(winner);
    });

    it('upgrades a database from before the escalation column: a pending request with a ladder is found due, others are not', async () => {
      const fresh = (await createTestDatabase())!;
      dropLater.push(fresh);
      const first = await createPostgresStore({ url: fresh.url, poolSize: 2 });
      const ladder = { ...approveDecision(), escalations: [{ key: 'prod-writes#1', rule: 'prod-writes', afterSeconds: 60, groups: ['dba'], principals: [] }] };
      const laddered = requestRecord({ decision: ladder });
      for (const r of [laddered, requestRecord(), requestRecord({ decision: ladder, status: 'approved' })]) await first.insertRequest(r, []);
      await first.close();
      await sql(fresh.url, `DROP INDEX requests_escalate_at; ALTER TABLE requests DROP COLUMN escalate_at; DELETE FROM schema_migrations WHERE version = ${MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('ADD COLUMN escalate_at')) + 1}`);

      const upgraded = await replica({}, fresh.url);
      expect(await upgraded.escalationsDue(new Date(Date.parse(at(59))), 10)).toEqual([]);
      expect(await upgraded.escalationsDue(new Date(Date.parse(at(60))), 10)).toEqual([laddered.id]);
    });

    it('a replica that starts finds the escalations an older replica wrote without the column (a rolling upgrade)', async () => {
      const fresh = (await createTestDatabase())!;
      dropLater.push(fresh);
      const first = await createPostgresStore({ url: fresh.url, poolSize: 2 });
      const ladder = { ...approveDecision(), escalations: [{ key: 'prod-writes#1', rule: 'prod-writes', afterSeconds: 60, groups: ['dba'], principals: [] }] };
      const heldByOld = requestRecord({ decision: ladder });
      const decidedByOld = requestRecord({ decision: ladder });
      for (const r of [heldByOld, decidedByOld]) await first.insertRequest(r, []);
      await first.close();
      // An older replica, still running, writes rows as it knows them: no escalate_at on insert, none changed on update.
      await sql(fresh.url, `UPDATE requests SET escalate_at = NULL WHERE id = '${heldByOld.id}'; UPDATE requests SET status = 'approved', record = (record::jsonb || '{"status":"approved"}')::text WHERE id = '${decidedByOld.id}'`);

      const next = await replica({}, fresh.url);
      expect(await next.escalationsDue(new Date(Date.parse(at(60))), 10)).toEqual([heldByOld.id]);
    });

    it('refuses a schema newer than this build knows, with or without mustExist', async () => {
      const fresh = (await createTestDatabase())!;
      dropLater.push(fresh);
      await replica({}, fresh.url);
      await sql(fresh.url, 'INSERT INTO schema_migrations (version) VALUES ($1)', [MIGRATIONS.length + 1]);
      for (const mustExist of [false, true]) {
        await expect(createPostgresStore({ url: fresh.url, mustExist })).rejects.toMatchObject({
          code: 'CONFIG_INVALID',
          message: expect.stringContaining('newer than this build knows'),
        });
      }
    });
  });

  it('lets exactly one of 30 claims racing from two replicas move approved → executing', async () => {
    const [a, b] = [await replica(), await replica()];
    const r = requestRecord({ status: 'approved' });
    await a.insertRequest(r, [auditDraft('request.created', r.id)]);
    const claim = (current: RequestRecord): Mutation<string> => {
      if (current.status !== 'approved') throw new CountersignError('REQUEST_ALREADY_DECIDED', `already ${current.status}`);
      return { result: 'claimed', next: transition(current, 'executing', FIXTURE_TIME), audit: [auditDraft('execution.started', current.id)] };
    };
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).mutateRequest(r.id, claim)));

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'REQUEST_ALREADY_DECIDED' });
    expect(await b.getRequest(r.id)).toMatchObject({ status: 'executing', version: r.version + 1 });
    expect((await a.readAudit(1, 100)).filter((e) => e.type === 'execution.started')).toHaveLength(1);
  });

  it('completes every write when two replicas lock the same requests in opposite orders (a deadlock costs a retry, not a write)', async () => {
    const [a, b] = [await replica(), await replica()];
    const [r1, r2] = [requestRecord(), requestRecord()];
    await a.insertRequest(r1, [auditDraft('request.created', r1.id)]);
    await a.insertRequest(r2, [auditDraft('request.created', r2.id)]);
    // Both rows held from outside, so each replica's batch takes its first row only once both wait: then each waits for the other's.
    const holder = new pg.Client({ connectionString: db!.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM requests WHERE id = ANY($1) FOR UPDATE', [[r1.id, r2.id]]);
      const bump = (current: RequestRecord): Mutation<number> => {
        const next = { ...current, version: current.version + 1 };
        return { result: next.version, next, audit: [auditDraft('bumped', current.id)] };
      };
      // Same tick on each replica: one transaction each, r1 then r2 on A, r2 then r1 on B.
      const writes = [a.mutateRequest(r1.id, bump), a.mutateRequest(r2.id, bump), b.mutateRequest(r2.id, bump), b.mutateRequest(r1.id, bump)];
      for (const started = Date.now(); ; ) {
        const waiting = await sql(db!.url, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (waiting.length >= 2) break;
        if (Date.now() - started > 20_000) throw new Error('the replicas never waited for the rows');
        await new Promise((res) => setTimeout(res, 20));
      }
      await holder.query('ROLLBACK');
      expect((await Promise.allSettled(writes)).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    } finally {
      await holder.end();
    }
    expect((await a.getRequest(r1.id))?.version).toBe(r1.version + 2);
    expect((await b.getRequest(r2.id))?.version).toBe(r2.version + 2);
    const events = await b.readAudit(1, 100);
    expect(events.filter((e) => e.type === 'bumped')).toHaveLength(4);
    const verifier = createChainVerifier();
    for (const e of events) expect(verifier.push(e)).toBeNull();
  }, 30_000);

  it('keeps one chain and one Merkle tree when two replicas append interleaved', async () => {
    const [a, b] = [await replica(), await replica()];
    // Sequential turns first (each replica's cached edge goes stale every time), then both at once.
    for (let i = 0; i < 6; i++) await (i % 2 ? a : b).appendAudit(Array.from({ length: (i % 3) + 1 }, (_, j) => auditDraft('turn', null, { i, j })));
    await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).appendAudit([auditDraft('race', null, { i })])));
    await a.appendAudit([auditDraft('last', null)]);

    const events = await b.readAudit(1, 1000);
    expect(events).toHaveLength(12 + 24 + 1);
    const verifier = createChainVerifier();
    for (const e of events) expect(verifier.push(e)).toBeNull();
    expect(verifier.finish()).toMatchObject({ ok: true, count: events.length });

    const leaves = events.map((e) => leafHash(e.body));
    const source = memorySource(leaves);
    for (const s of [a, b]) {
      expect(await s.treeHead()).toEqual({ size: leaves.length, root: toHex(rootAt(source, leaves.length)) });
      for (const size of [1, 6, 13, 32, leaves.length]) expect(await s.rootAt(size)).toBe(toHex(rootAt(source, size)));
      expect(await s.inclusionProof(20, leaves.length)).toEqual(inclusionProof(source, 20, leaves.length).map(toHex));
      expect(await s.consistencyProof(7, leaves.length)).toEqual(consistencyProof(source, 7, leaves.length).map(toHex));
    }
    const proof = (await a.inclusionProof(3, leaves.length)).map(hashFromHex);
    expect(verifyInclusion(leaves[3]!, 3, leaves.length, proof, hashFromHex((await b.treeHead()).root))).toBe(true);
  });

  it('takes up the right edge another replica stored with the head: its next append reads no tree rows and extends the true tree', async () => {
    const [a, b] = [await replica(), await replica()];
    await a.appendAudit(Array.from({ length: 20 }, (_, i) => auditDraft('a', null, { i })));
    await b.appendAudit(Array.from({ length: 3 }, (_, i) => auditDraft('b', null, { i })));
    // Without the stored edge, `a` (whose cached edge `b` moved on) would rebuild it from these rows, and find none.
    await sql(db!.url, 'DELETE FROM merkle_nodes');
    await a.appendAudit([auditDraft('a', null, { i: 20 })]);

    const events = await b.readAudit(1, 100);
    expect(events).toHaveLength(24);
    const source = memorySource(events.map((e) => leafHash(e.body)));
    expect(await a.treeHead()).toEqual({ size: 24, root: toHex(rootAt(source, 24)) });
  });

  it('does not take up an edge stored for another size than the head (a build that did not keep it wrote the head)', async () => {
    const [a, b] = [await replica(), await replica()];
    await a.appendAudit(Array.from({ length: 5 }, (_, i) => auditDraft('a', null, { i })));
    await b.appendAudit(Array.from({ length: 3 }, (_, i) => auditDraft('b', null, { i })));
    // An edge of the right length for 8 events, but of zeros and said to be for 7: it must be rebuilt, not believed.
    await sql(db!.url, `UPDATE audit_head SET edge = '\\x${'00'.repeat(32)}'::bytea, edge_seq = 7`);
    await a.appendAudit(Array.from({ length: 12 }, (_, i) => auditDraft('a', null, { i: 5 + i })));

    const events = await b.readAudit(1, 100);
    const source = memorySource(events.map((e) => leafHash(e.body)));
    expect(await a.treeHead()).toEqual({ size: 20, root: toHex(rootAt(source, 20)) });
    const fresh = await replica();
    for (const size of [8, 16, 20]) expect(await fresh.rootAt(size)).toBe(toHex(rootAt(source, size)));
  });

  it('keeps one chain and one Merkle tree when two replicas race batches of different sizes and some batches roll back after their append', async () => {
    // The delivery of a `boom` event cannot be enqueued: its batch fails in the append statement, after its events and
    // tree nodes went in, and is rolled back; each replica's cached edge then saw leaves that never existed.
    const router: OutboxRouter = (e) => [{ channel: e.type === 'boom' ? 'broken' : 'slack', event: e.type, requestId: null, payload: {}, createdAt: e.time }];
    const [a, b] = [await replica({ outbox: router }), await replica({ outbox: router })];
    await sql(db!.url, `CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'channel refused'; END $$;
                        CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW WHEN (NEW.channel = 'broken') EXECUTE FUNCTION refuse();`);
    try {
      const writes: Promise<unknown>[] = [];
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 10; i++) {
          const s = (i + round) % 2 ? a : b;
          const n = ((i * 7 + round) % 4) + 1;
          const drafts = Array.from({ length: n }, (_, j) => auditDraft(i % 5 === round % 5 && j === n - 1 ? 'boom' : 'ok', null, { round, i, j }));
          writes.push(s.appendAudit(drafts));
        }
        const settled = await Promise.allSettled(writes.splice(0));
        // Each write fails alone: exactly the two with a `boom` in them.
        expect(settled.filter((x) => x.status === 'rejected').map((x) => (x as PromiseRejectedResult).reason.code)).toEqual(['AUDIT_WRITE_FAILED', 'AUDIT_WRITE_FAILED']);
      }
      await a.appendAudit([auditDraft('last', null)]);
      await b.appendAudit([auditDraft('last', null)]);

      const events = await a.readAudit(1, 10_000);
      expect(events.some((e) => e.type === 'boom')).toBe(false);
      expect(events.length).toBeGreaterThan(50);
      const verifier = createChainVerifier();
      for (const e of events) expect(verifier.push(e)).toBeNull();
      const leaves = events.map((e) => leafHash(e.body));
      const source = memorySource(leaves);
      for (const s of [a, b]) {
        expect(await s.treeHead()).toEqual({ size: leaves.length, root: toHex(rootAt(source, leaves.length)) });
        for (let size = 1; size <= leaves.length; size += 7) expect(await s.rootAt(size)).toBe(toHex(rootAt(source, size)));
        expect(await s.consistencyProof(5, leaves.length)).toEqual(consistencyProof(source, 5, leaves.length).map(toHex));
      }
    } finally {
      await sql(db!.url, 'DROP TRIGGER IF EXISTS refuse ON outbox');
    }
  }, 60_000);

  it('never hands the same delivery to two replicas claiming at once, and keeps each request in order', async () => {
    const router: OutboxRouter = (e) => (e.requestId === null ? [] : [{ channel: 'slack', event: e.type, requestId: e.requestId, payload: {}, createdAt: e.time }]);
    const [a, b] = [await replica({ outbox: router }), await replica({ outbox: router })];
    for (let i = 0; i < 40; i++) {
      const r = requestRecord({ id: `req_${i}` });
      await a.insertRequest(r, [auditDraft('request.held', r.id), auditDraft('review.recorded', r.id)]);
    }
    const later = new Date(FIXTURE_TIME.getTime() + 3600_000);
    const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).claimDeliveries(later, 5, 60_000)));
    const ids = claims.flat().map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Only the first event of each request is owed yet; all 40 of them went out, none twice.
    expect(ids).toHaveLength(40);
    expect(new Set(claims.flat().map((d) => d.event))).toEqual(new Set(['request.held']));

    // Once they are made, each request's next event is owed: again once each, across both replicas.
    await Promise.all(claims.flat().map((d, i) => (i % 2 ? a : b).completeDelivery(d.id)));
    const next = (await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).claimDeliveries(later, 5, 60_000)))).flat();
    expect(next.map((d) => d.event)).toEqual(Array.from({ length: 40 }, () => 'review.recorded'));
    expect(new Set(next.map((d) => d.requestId)).size).toBe(40);
  });

  it('never owes a delivery again once it was made, even when a replica whose lease ran out reports a failure after it', async () => {
    const router: OutboxRouter = (e) => (e.requestId === null ? [] : [{ channel: 'slack', event: e.type, requestId: e.requestId, payload: {}, createdAt: e.time }]);
    const [a, b] = [await replica({ outbox: router }), await replica({ outbox: router })];
    const r = requestRecord();
    await a.insertRequest(r, [auditDraft('request.held', r.id)]);
    const t = FIXTURE_TIME.getTime() + 3600_000;
    // Replica a claims and stalls past its lease; b claims the same delivery and makes it.
    const [slow] = await a.claimDeliveries(new Date(t), 5, 1_000);
    const [fast] = await b.claimDeliveries(new Date(t + 2_000), 5, 60_000);
    expect(fast?.id).toBe(slow!.id);
    await b.completeDelivery(fast!.id);
    // a's attempt then fails (a timeout, or a completion whose COMMIT outcome it never learned): the post is already made.
    await a.failDelivery(slow!.id, 'timed out', new Date(t + 3_000).toISOString());

    expect(await b.claimDeliveries(new Date(t + 3600_000), 5, 60_000)).toEqual([]);
    expect(await a.outboxHealth()).toEqual([expect.objectContaining({ channel: 'slack', pending: 0, dead: 0 })]);
  });

  it('never lets time step back along the log, whatever the clocks of the replicas that wrote it', async () => {
    const [a, b] = [await replica(), await replica()];
    await a.appendAudit([auditDraft('ahead', null, {}, '2026-11-21T10:00:05.000Z')]);
    await b.appendAudit([auditDraft('behind', null, {}, '2026-11-21T10:00:01.000Z')]);
    await a.appendAudit([auditDraft('later', null, {}, '2026-11-21T10:00:09.000Z')]);
    expect((await b.readAudit(1, 10)).map((e) => [e.type, e.time])).toEqual([
      ['ahead', '2026-11-21T10:00:05.000Z'],
      ['behind', '2026-11-21T10:00:05.000Z'],
      ['later', '2026-11-21T10:00:09.000Z'],
    ]);
    expect(await a.firstSeqAtOrAfter('2026-11-21T10:00:06.000Z')).toBe(3);
  });
});
