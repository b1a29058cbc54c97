/**
 * What the requests table's indexes hold. An allowed action inserts its
 * request row and then writes its outcome over it; the outcome changes the
 * status, an indexed column, so the new row version enters every index of
 * the table again. An index that only some requests need holds only theirs:
 * the index on acts_for has no entry for a request made on no one's behalf
 * (most), and still serves every query on the column.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { transition } from '../../../core/request.ts';
import { agent, auditDraft, FIXTURE_TIME, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';

const db = await createTestDatabase();

async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ connectionString: db!.url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!db)('postgres store: the requests table indexes', () => {
  afterAll(() => db?.drop());

  it("enters only requests made on someone's behalf in the acts_for index, and finds them through it", async () => {
    const store = await createPostgresStore({ url: db!.url, poolSize: 2 });
    const alone = Array.from({ length: 27 }, () => requestRecord({ status: 'executing', principal: agent('solo-bot', null) }));
    const onBehalf = Array.from({ length: 3 }, () => requestRecord({ status: 'executing', principal: agent('deploy-bot', 'alice') }));
    try {
      for (const r of [...alone, ...onBehalf]) {
        await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
        await store.mutateRequest(r.id, (c) => ({ result: null, next: transition(c, 'succeeded', FIXTURE_TIME), audit: [auditDraft('request.succeeded', c.id)] }), r);
      }
      // Found through the index, by a list that involves alice and by an audit search on whom the agent acted for.
      expect((await store.listRequests({ involving: 'alice' })).map((r) => r.id).sort()).toEqual(onBehalf.map((r) => r.id).sort());
      const events = await store.searchAudit({ actsFor: 'alice', types: ['request.succeeded'] });
      expect(events.map((e) => e.requestId).sort()).toEqual(onBehalf.map((r) => r.id).sort());
    } finally {
      await store.close();
    }
    // VACUUM counts each index's live entries: the three requests made for alice, none of the 27 others.
    await sql('VACUUM requests');
    const [entries] = await sql(`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'requests_acts_for'`);
    expect(entries!['n']).toBe(3);
    // An equality on the column with a value unknown when planned (a generic plan) still implies the index's predicate.
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    try {
      await c.query('SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off');
      await c.query('PREPARE involving(text) AS SELECT id FROM requests r WHERE r.principal_id = $1 OR r.acts_for = $1');
      const plan = (await c.query(`EXPLAIN EXECUTE involving('alice')`)).rows.map((row) => String(row['QUERY PLAN'])).join('\n');
      expect(plan).toContain('requests_acts_for');
    } finally {
      await c.end();
    }
  }, 60_000);

  it("counts a principal's pending requests through an index of pending requests only, whatever else it asked for", async () => {
    const store = await createPostgresStore({ url: db!.url, poolSize: 2 });
    const done = Array.from({ length: 20 }, () => requestRecord({ status: 'executing', principal: agent('busy-bot', null) }));
    const pending = Array.from({ length: 4 }, () => requestRecord({ status: 'pending', principal: agent('busy-bot', null) }));
    try {
      for (const r of done) {
        await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
        await store.mutateRequest(r.id, (c) => ({ result: null, next: transition(c, 'succeeded', FIXTURE_TIME), audit: [auditDraft('request.succeeded', c.id)] }), r);
      }
      for (const r of pending) await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
      expect(await store.pendingOf('busy-bot', 100)).toBe(4);
      expect(await store.pendingOf('busy-bot', 3)).toBe(3);
    } finally {
      await store.close();
    }
    await sql('VACUUM requests');
    const [entries] = await sql(`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'requests_pending_principal'`);
    expect(entries!['n']).toBe(4);
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    try {
      await c.query('SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off');
      await c.query(`PREPARE pending_of(text, int) AS SELECT count(*) FROM (SELECT 1 FROM requests WHERE principal_id = $1 AND status = 'pending' LIMIT $2) AS p`);
      const plan = (await c.query(`EXPLAIN EXECUTE pending_of('busy-bot', 100)`)).rows.map((row) => String(row['QUERY PLAN'])).join('\n');
      expect(plan).toContain('requests_pending_principal');
    } finally {
      await c.end();
    }
  }, 60_000);
});
