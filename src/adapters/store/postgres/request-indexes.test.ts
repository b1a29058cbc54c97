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
});
