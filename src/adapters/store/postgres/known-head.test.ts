/**
 * The write on the known head (append-sql.ts KNOWN_HEAD_WRITE) under three
 * replicas on one database doing everything at once: inserts (some of one
 * id from two replicas), claims racing across replicas (some over the record
 * the caller knows, so they go as that one statement), outcomes over the
 * claimed record (written in one statement unless the row or the head moved
 * on) racing an interruption from another replica, and bare appends. Every
 * replica's known head goes stale again and again, and batches mix rows
 * another replica changed with new ones. Whatever the interleaving, what is
 * asserted is fixed: one claim per request, each request's events exactly
 * those of the operations that succeeded (in the order its row went
 * through), one hash chain and one Merkle tree, and one outbox row per event.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createChainVerifier, type AuditEvent } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import { hashFromHex, inclusionProof, leafHash, memorySource, rootAt, toHex, verifyInclusion } from '../../../core/merkle/index.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Mutation, Store } from '../../../core/ports.ts';
import { transition, type RequestRecord } from '../../../core/request.ts';
import { auditDraft, FIXTURE_TIME, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { recordJson } from '../rows.ts';
import { createPostgresStore } from './index.ts';

const db = await createTestDatabase();

/** Every event owes one delivery, carrying what identifies it. */
const router: OutboxRouter = (d) => [{ channel: 'slack', event: d.type, requestId: d.requestId, payload: d.data, createdAt: d.time }];

/** A fixed schedule from a seed: the interleaving varies from run to run, what is asserted does not. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const decided = (status: string) => new CountersignError('REQUEST_ALREADY_DECIDED', `already ${status}`);

const claim = (current: RequestRecord): Mutation<RequestRecord> => {
  if (current.status !== 'approved') throw decided(current.status);
  const next = transition(current, 'executing', FIXTURE_TIME);
  return { result: next, next, audit: [auditDraft('execution.started', current.id)] };
};
/** The outcome, over the record its claim wrote; settled meanwhile by another replica, it is logged beside that. */
const outcome = (current: RequestRecord): Mutation<string> => {
  if (current.status !== 'executing') {
    return { result: 'late', next: { ...current, version: current.version + 1 }, audit: [auditDraft('outcome.late', current.id)] };
  }
  return { result: 'succeeded', next: transition(current, 'succeeded', FIXTURE_TIME), audit: [auditDraft('request.succeeded', current.id)] };
};
const interrupt = (current: RequestRecord): Mutation<string> => {
  if (current.status !== 'executing') throw decided(current.status);
  return { result: 'interrupted', next: transition(current, 'failed', FIXTURE_TIME), audit: [auditDraft('request.interrupted', current.id)] };
};

describe.skipIf(!db)('postgres writes on the known head, three replicas at once', () => {
  afterAll(async () => {
    await db?.drop();
  });

  it('keeps exactly-once claims, each request its own events, one chain, one tree and one delivery per event', async () => {
    const stores: Store[] = [];
    // One replica without group commit: its writes run at once, each on the known head and cached tree they share.
    for (let i = 0; i < 3; i++) stores.push(await createPostgresStore({ url: db!.url, poolSize: 4, outbox: router, groupCommit: i !== 1 }));
    try {
      const random = prng(20261206);
      const pick = (): Store => stores[Math.floor(random() * stores.length)]!;
      type Life = { id: string; inserts: PromiseSettledResult<void>[]; claims: PromiseSettledResult<RequestRecord>[]; outcome?: string; interrupt?: PromiseSettledResult<string> };
      const lives: Life[] = [];
      const bare: Promise<void>[] = [];
      let n = 0;

      async function life(i: number, wave: number): Promise<void> {
        const r = requestRecord({ id: `req_${wave}_${i}`, status: 'approved' });
        const l: Life = { id: r.id, inserts: [], claims: [] };
        lives.push(l);
        const owner = stores[i % stores.length]!;
        // Some ids come from two replicas at once: one insert only may stand, and one event.
        const twice = i % 5 === 0;
        l.inserts = await Promise.allSettled([owner, ...(twice ? [pick()] : [])].map((s) => s.insertRequest(r, [auditDraft('request.created', r.id)])));
        if (!l.inserts.some((x) => x.status === 'fulfilled')) return;
        // Some claims know the record (the owner inserted it): they go as one statement over its version.
        const claims = 2 + (i % 4);
        l.claims = await Promise.allSettled(Array.from({ length: claims }, (_, k) => (k === 0 ? owner : pick()).mutateRequest(r.id, claim, k % 2 === 0 ? r : undefined)));
        const won = l.claims.findIndex((c) => c.status === 'fulfilled');
        if (won < 0) return;
        const claimed = (l.claims[won] as PromiseFulfilledResult<RequestRecord>).value;
        const winner = won === 0 ? owner : pick();
        const [o, x] = await Promise.allSettled([
          winner.mutateRequest(r.id, outcome, claimed),
          ...(i % 3 === 0 ? [pick().mutateRequest(r.id, interrupt)] : []),
        ]);
        l.outcome = o!.status === 'fulfilled' ? o!.value : `rejected: ${String((o as PromiseRejectedResult).reason)}`;
        if (x) l.interrupt = x;
      }

      for (let wave = 0; wave < 4; wave++) {
        const lifecycles = Array.from({ length: 12 }, (_, i) => life(i, wave));
        for (let k = 0; k < 6; k++) bare.push(pick().appendAudit([auditDraft('gateway.tick', null, { n: n++ })]));
        await Promise.all(lifecycles);
        // In turn as well: each replica's next write finds the head another one moved.
        for (const s of stores) await s.appendAudit([auditDraft('gateway.tick', null, { n: n++ })]);
      }
      await Promise.all(bare);

      const events: AuditEvent[] = await stores[0]!.readAudit(1, 100_000);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
      const verifier = createChainVerifier();
      for (const e of events) expect(verifier.push(e)).toBeNull();
      expect(verifier.finish()).toMatchObject({ ok: true, count: events.length });
      expect(events.filter((e) => e.type === 'gateway.tick').map((e) => e.data['n']).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: n }, (_, i) => i));

      expect(lives).toHaveLength(48);
      let interrupted = 0;
      for (const l of lives) {
        const mine = events.filter((e) => e.requestId === l.id).map((e) => e.type);
        // One insert of the id stands; a second one is refused by the key, and leaves nothing.
        expect(l.inserts.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
        // Exactly one claim moved it to executing; every other was told it was decided.
        expect(l.claims.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
        for (const c of l.claims) if (c.status === 'rejected') expect(c.reason).toMatchObject({ code: 'REQUEST_ALREADY_DECIDED' });
        const row = await stores[2]!.getRequest(l.id);
        if (l.interrupt?.status === 'fulfilled') {
          interrupted++;
          expect(l.outcome).toBe('late');
          expect(mine).toEqual(['request.created', 'execution.started', 'request.interrupted', 'outcome.late']);
          expect(row).toMatchObject({ status: 'failed', version: 4 });
        } else {
          if (l.interrupt) expect(l.interrupt).toMatchObject({ status: 'rejected', reason: { code: 'REQUEST_ALREADY_DECIDED' } });
          expect(l.outcome).toBe('succeeded');
          expect(mine).toEqual(['request.created', 'execution.started', 'request.succeeded']);
          expect(row).toMatchObject({ status: 'succeeded', version: 3 });
        }
      }
      expect(events).toHaveLength(n + lives.reduce((sum, l) => sum + (l.interrupt?.status === 'fulfilled' ? 4 : 3), 0));
      // Not asserted to be nonzero: which way each race goes is the database's.
      expect(interrupted).toBeLessThanOrEqual(16);

      // One delivery per event, no more, no fewer: written in the same statement or transaction as its event.
      const c = new pg.Client({ connectionString: db!.url });
      await c.connect();
      try {
        const owed = (await c.query<{ k: string }>(`SELECT concat_ws('|', event, request_id, payload::jsonb::text) AS k FROM outbox`)).rows.map((x) => x.k).sort();
        const expected = (await c.query<{ k: string }>(`SELECT concat_ws('|', type, request_id, (body::jsonb -> 'data')::text) AS k FROM audit_events`)).rows.map((x) => x.k).sort();
        expect(owed).toEqual(expected);
        expect(owed).toHaveLength(events.length);
      } finally {
        await c.end();
      }

      const leaves = events.map((e) => leafHash(e.body));
      const source = memorySource(leaves);
      const root = toHex(rootAt(source, leaves.length));
      for (const s of stores) {
        expect(await s.treeHead()).toEqual({ size: leaves.length, root });
        for (const size of [1, 16, 17, 64, leaves.length - 1]) expect(await s.rootAt(size)).toBe(toHex(rootAt(source, size)));
        expect(await s.inclusionProof(leaves.length - 2, leaves.length)).toEqual(inclusionProof(source, leaves.length - 2, leaves.length).map(toHex));
      }
      const proof = (await stores[1]!.inclusionProof(37, leaves.length)).map(hashFromHex);
      expect(verifyInclusion(leaves[37]!, 37, leaves.length, proof, hashFromHex(root))).toBe(true);
    } finally {
      for (const s of stores) await s.close();
    }
  }, 30_000);

  /**
   * Another transaction has the row, changed and uncommitted, while the one statement on the known head waits for its
   * lock beside a new request of the same batch. Committed, the change stands: the claim over the version known is
   * refused and writes nothing, the new request is written once. Rolled back: the claim is written.
   */
  for (const end of ['COMMIT', 'ROLLBACK'] as const) {
    it(`re-checks a known record's version after waiting for a change to it that ends in ${end}, and writes the batch beside it once`, async () => {
      const store = await createPostgresStore({ url: db!.url, poolSize: 4, outbox: router });
      const holder = new pg.Client({ connectionString: db!.url });
      await holder.connect();
      try {
        const r = requestRecord({ status: 'approved' });
        await store.insertRequest(r, [auditDraft('request.created', r.id)]);
        await store.appendAudit([auditDraft('head known', null)]);
        const before = (await store.readAudit(1, 100_000)).length;
        const cancelled: RequestRecord = { ...r, status: 'cancelled', version: r.version + 1 };
        await holder.query('BEGIN');
        await holder.query('UPDATE requests SET status = $2, version = $3, record = $4 WHERE id = $1', [r.id, cancelled.status, cancelled.version, recordJson(cancelled)]);
        const beside = requestRecord();
        // Same tick: one batch, its rows all left to the statement on the known head.
        const writes = Promise.allSettled([store.mutateRequest(r.id, claim, r), store.insertRequest(beside, [auditDraft('request.created', beside.id)])]);
        const probe = new pg.Client({ connectionString: db!.url });
        await probe.connect();
        try {
          for (const started = Date.now(); ; ) {
            const waiting = await probe.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
            if (waiting.rows.length >= 1) break;
            if (Date.now() - started > 10_000) throw new Error('the write never waited for the row');
            await new Promise((res) => setTimeout(res, 10));
          }
        } finally {
          await probe.end();
        }
        await holder.query(end);
        const [claimed, inserted] = await writes;
        expect(inserted).toMatchObject({ status: 'fulfilled' });
        const events = await store.readAudit(1, 100_000);
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
        expect(events.filter((e) => e.requestId === beside.id).map((e) => e.type)).toEqual(['request.created']);
        if (end === 'COMMIT') {
          expect(claimed).toMatchObject({ status: 'rejected', reason: { code: 'REQUEST_ALREADY_DECIDED' } });
          expect(await store.getRequest(r.id)).toMatchObject({ status: 'cancelled', version: r.version + 1 });
          expect(events.filter((e) => e.requestId === r.id).map((e) => e.type)).toEqual(['request.created']);
          expect(events).toHaveLength(before + 1);
        } else {
          expect(claimed).toMatchObject({ status: 'fulfilled', value: { status: 'executing', version: r.version + 1 } });
          expect(await store.getRequest(r.id)).toMatchObject({ status: 'executing', version: r.version + 1 });
          expect(events.filter((e) => e.requestId === r.id).map((e) => e.type)).toEqual(['request.created', 'execution.started']);
          expect(events).toHaveLength(before + 2);
        }
        const c = await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
        expect(c.rows[0]!.n).toBe(events.length);
        await store.appendAudit([auditDraft('after', null)]);
        const all = await store.readAudit(1, 100_000);
        const leaves = all.map((e) => leafHash(e.body));
        expect(await store.treeHead()).toEqual({ size: leaves.length, root: toHex(rootAt(memorySource(leaves), leaves.length)) });
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
        await store.close();
      }
    }, 20_000);
  }

  /**
   * The one statement on the known head killed mid-way: once waiting for a row before it moved the head, once after
   * it moved it (its new request waits on another transaction's uncommitted insert of the same id). It commits on its
   * own, so its caller is told STORE_UNAVAILABLE (never that it failed, never that it was done), it is not sent again,
   * and nothing of it stands.
   */
  for (const when of ['before', 'after'] as const) {
    it(`reports a write on the known head killed ${when} it moved the head as STORE_UNAVAILABLE, leaves nothing of it and does not send it again`, async () => {
      const store = await createPostgresStore({ url: db!.url, poolSize: 4, outbox: router });
      const other = await createPostgresStore({ url: db!.url, poolSize: 2, outbox: router });
      const holder = new pg.Client({ connectionString: db!.url });
      await holder.connect();
      try {
        const r = requestRecord({ status: 'approved' });
        await store.insertRequest(r, [auditDraft('request.created', r.id)]);
        await store.appendAudit([auditDraft('head known', null)]);
        const head = await holder.query<{ seq: number; hash: string }>('SELECT seq::int, hash FROM audit_head');
        const dup = requestRecord();
        await holder.query('BEGIN');
        let write: Promise<unknown>;
        if (when === 'before') {
          await holder.query('SELECT 1 FROM requests WHERE id = $1 FOR UPDATE', [r.id]);
          write = store.mutateRequest(r.id, claim, r);
        } else {
          await holder.query(`INSERT INTO requests (id, status, principal_id, connection, created_at, updated_at, version, term_set, record)
                              SELECT $1, status, principal_id, connection, created_at, updated_at, version, term_set, record FROM requests WHERE id = $2`, [dup.id, r.id]);
          write = store.insertRequest(dup, [auditDraft('request.created', dup.id)]);
        }
        const failed = write.then(() => null, (e: unknown) => e);
        for (const started = Date.now(); ; ) {
          const waiting = await holder.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
          if (waiting.rows.length === 1) {
            // Waiting for its rows, it holds the head of no one: another replica appends meanwhile (rows first, head last).
            if (when === 'before') await other.appendAudit([auditDraft('beside', null)]);
            await holder.query('SELECT pg_terminate_backend($1)', [waiting.rows[0]!.pid]);
            break;
          }
          if (Date.now() - started > 10_000) throw new Error('the write never waited');
          await new Promise((res) => setTimeout(res, 10));
        }
        expect(await failed).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        await holder.query('ROLLBACK');
        // The next write queues behind anything still in flight: a write sent again would be in before it.
        await store.appendAudit([auditDraft('after', null)]);
        const events = await store.readAudit(1, 100_000);
        expect(events.slice(head.rows[0]!.seq).map((e) => e.type)).toEqual(when === 'before' ? ['beside', 'after'] : ['after']);
        expect(events[head.rows[0]!.seq - 1]!.hash).toBe(head.rows[0]!.hash);
        expect(await store.getRequest(dup.id)).toBeUndefined();
        expect(await store.getRequest(r.id)).toMatchObject({ status: 'approved', version: r.version });
        const verifier = createChainVerifier();
        for (const e of events) expect(verifier.push(e)).toBeNull();
        const c = await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
        expect(c.rows[0]!.n).toBe(events.length);
        const leaves = events.map((e) => leafHash(e.body));
        expect(await store.treeHead()).toEqual({ size: leaves.length, root: toHex(rootAt(memorySource(leaves), leaves.length)) });
        // And the claim, sent now, is written once.
        await store.mutateRequest(r.id, claim, r);
        expect((await store.readAudit(1, 100_000)).filter((e) => e.requestId === r.id).map((e) => e.type)).toEqual(['request.created', 'execution.started']);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
        await other.close();
        await store.close();
      }
    }, 20_000);
  }

  /**
   * Backends of the three replicas killed at random while they insert, claim and settle requests. Whatever was
   * killed where, each request's row and its events agree (the row is at the version its events count, and says what
   * the last of them says), no claim ran twice, the log is one chain and one tree, and every event has its delivery.
   */
  it('keeps every request and its events in step, and claims once, while replicas lose connections mid-write', async () => {
    const stores: Store[] = [];
    for (let i = 0; i < 3; i++) stores.push(await createPostgresStore({ url: db!.url, poolSize: 3, outbox: router, connectTimeoutMs: 5_000 }));
    const killer = new pg.Client({ connectionString: db!.url });
    await killer.connect();
    try {
      const random = prng(7);
      const pick = (): Store => stores[Math.floor(random() * stores.length)]!;
      const ids: string[] = [];
      const refusals: unknown[] = [];
      const claimedBy = new Map<string, number>();
      const settle = async <T>(p: Promise<T>): Promise<T | undefined> => p.catch((e: unknown) => void refusals.push(e));

      async function life(i: number): Promise<void> {
        const r = requestRecord({ id: `kill_${i}`, status: 'approved' });
        ids.push(r.id);
        const owner = stores[i % stores.length]!;
        if ((await settle(owner.insertRequest(r, [auditDraft('request.created', r.id)]).then(() => true))) !== true) return;
        const claims = await Promise.all(Array.from({ length: 3 }, (_, k) => settle((k === 0 ? owner : pick()).mutateRequest(r.id, claim, k === 0 ? r : undefined))));
        const won = claims.filter((c): c is RequestRecord => c !== undefined);
        claimedBy.set(r.id, won.length);
        if (won.length === 1) await settle(owner.mutateRequest(r.id, outcome, won[0]));
      }

      let running = true;
      let killed = 0;
      const kills = (async () => {
        while (running) {
          const k = await killer.query<{ n: number }>(
            `SELECT count(pg_terminate_backend(pid))::int AS n FROM (SELECT pid FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY random() LIMIT 1) k`,
          );
          killed += k.rows[0]!.n;
          await new Promise((res) => setTimeout(res, 15));
        }
      })();
      for (let wave = 0; wave < 4; wave++) await Promise.all(Array.from({ length: 15 }, (_, i) => life(wave * 15 + i)));
      running = false;
      await kills;
      expect(killed).toBeGreaterThan(0);

      // Every refusal is one a caller can act on: unknown outcome, busy, or the request already decided.
      for (const e of refusals) expect(['STORE_UNAVAILABLE', 'STORE_BUSY', 'REQUEST_ALREADY_DECIDED', 'NOT_FOUND']).toContain((e as { code?: string }).code);

      // Read with the killer gone: every store answers again on new connections.
      await stores[0]!.appendAudit([auditDraft('after', null)]);
      const events: AuditEvent[] = await stores[1]!.readAudit(1, 100_000);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
      const verifier = createChainVerifier();
      for (const e of events) expect(verifier.push(e)).toBeNull();
      const lifeOf = ['request.created', 'execution.started', 'request.succeeded'];
      const statusOf = ['approved', 'executing', 'succeeded'];
      for (const id of ids) {
        const mine = events.filter((e) => e.requestId === id).map((e) => e.type);
        const row = await stores[2]!.getRequest(id);
        expect(mine).toEqual(lifeOf.slice(0, mine.length));
        if (mine.length === 0) expect(row).toBeUndefined();
        else expect(row).toMatchObject({ version: mine.length, status: statusOf[mine.length - 1] });
        // A claim told it won is in the log; none was written twice (at most one started event, checked above).
        if (claimedBy.get(id) === 1) expect(mine.length).toBeGreaterThanOrEqual(2);
        expect(claimedBy.get(id) ?? 0).toBeLessThanOrEqual(1);
      }
      const c = await killer.query<{ k: string }>(`SELECT concat_ws('|', event, request_id, payload::jsonb::text) AS k FROM outbox`);
      const e2 = await killer.query<{ k: string }>(`SELECT concat_ws('|', type, request_id, (body::jsonb -> 'data')::text) AS k FROM audit_events`);
      expect(c.rows.map((x) => x.k).sort()).toEqual(e2.rows.map((x) => x.k).sort());
      const leaves = events.map((e) => leafHash(e.body));
      const root = toHex(rootAt(memorySource(leaves), leaves.length));
      for (const s of stores) expect(await s.treeHead()).toEqual({ size: leaves.length, root });
    } finally {
      await killer.end();
      for (const s of stores) await s.close();
    }
  }, 30_000);
});
