/**
 * A young database's plans. A pool connection keeps a generic plan of each
 * prepared statement built on the table's size when it was first planned: on
 * a new database, a few rows. The outcome write joins the requests table to
 * an array of ids, and that plan then scans the whole table for every
 * outcome until the table's statistics change (autovacuum's first ANALYZE,
 * a minute or more later). The store analyzes the table itself once it has
 * inserted enough requests for the plans to become index lookups.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { transition } from '../../../core/request.ts';
import { auditDraft, FIXTURE_TIME, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';

const db = await createTestDatabase();

async function sql(text: string): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ connectionString: db!.url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!db)('postgres store on a young database', () => {
  afterAll(() => db?.drop());

  it("analyzes the requests, audit_events and merkle_nodes tables once it has inserted 1,000 requests, so that the outcome write's cached plan looks rows up by id", async () => {
    const store = await createPostgresStore({ url: db!.url, poolSize: 4 });
    try {
      for (let i = 0; i < 20; i++) {
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const r = requestRecord({ status: 'executing' });
            await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
            await store.mutateRequest(r.id, (c) => ({ result: null, next: transition(c, 'succeeded', FIXTURE_TIME), audit: [auditDraft('request.succeeded', c.id)] }), r);
          }),
        );
      }
      // ANALYZE runs in the background: wait for what it leaves (only a manual ANALYZE sets last_analyze).
      const analyzed = async () =>
        (await sql(`SELECT count(last_analyze) = 3 AS done, (SELECT reltuples FROM pg_class WHERE relname = 'requests') AS tuples
                    FROM pg_stat_user_tables WHERE relname IN ('requests', 'audit_events', 'merkle_nodes')`))[0]!;
      const deadline = Date.now() + 20_000;
      while (!(await analyzed())['done'] && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const after = await analyzed();
      expect(after['done']).toBe(true);
      expect(Number(after['tuples'])).toBeGreaterThanOrEqual(1000);

      // What the planner makes of the outcome write's join now, for any array of ids (a generic plan): the primary key.
      const c = new pg.Client({ connectionString: db!.url });
      await c.connect();
      let plan: pg.QueryResultRow[];
      try {
        await c.query('SET plan_cache_mode = force_generic_plan');
        await c.query('PREPARE outcome(text[], int[]) AS SELECT r.id FROM requests r JOIN unnest($1::text[], $2::int[]) AS k(id, expected) ON r.id = k.id AND r.version = k.expected FOR UPDATE OF r');
        plan = (await c.query(`EXPLAIN EXECUTE outcome('{a}', '{1}')`)).rows;
      } finally {
        await c.end();
      }
      const text = plan.map((row) => String(row['QUERY PLAN'])).join('\n');
      expect(text).toContain('requests_pkey');
      expect(text).not.toContain('Seq Scan on requests');
    } finally {
      await store.close();
    }
  }, 60_000);
});
