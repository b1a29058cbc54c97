/**
 * A read checks the catalogs as it then runs, whatever isolation the database
 * gives transactions by default (real PostgreSQL, throwaway database). Above
 * READ COMMITTED the transaction's snapshot is taken by its first query, the
 * latch's, before it waits for a schema change through the gateway to commit:
 * the check would then read a view as it was, and the read run it as it is.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, waitingOnLatch } from '../../../../test/support/postgres.ts';
import { LATCH_KEYS } from './catalog-latch.ts';
import { createPostgresConnection } from './connection.ts';
import { loadSqlParser } from './facts.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('a read on a database whose transactions default to SERIALIZABLE (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  const admin = new pg.Client({ connectionString: url });

  beforeAll(async () => {
    await loadSqlParser();
    await admin.connect();
    await admin.query('CREATE VIEW totals AS SELECT 1 AS n');
  });

  afterAll(async () => {
    await admin.end();
    await db?.drop();
  });

  it('a view replaced, through the gateway, while the read waits on the latch: refused, what it calls never runs', async () => {
    const u = new URL(url);
    u.searchParams.set('options', '-c default_transaction_isolation=serializable');
    const conn = createPostgresConnection({ name: 'ledger', url: u.toString(), tags: {} });
    const victim = new pg.Client({ connectionString: url });
    const ddl = new pg.Client({ connectionString: url });
    victim.on('error', () => {});
    await Promise.all([victim.connect(), ddl.connect()]);
    try {
      const pid = Number((await victim.query('SELECT pg_backend_pid() AS p')).rows[0].p);
      // A schema change through the gateway holds the latch until it commits: the view now ends another session.
      await ddl.query(`BEGIN; SELECT pg_advisory_xact_lock(${LATCH_KEYS[0]}, ${LATCH_KEYS[1]});
        CREATE OR REPLACE VIEW totals AS SELECT pg_terminate_backend(${pid})::int AS n`);
      const running = conn.execute({ sql: 'SELECT n FROM totals' }, { readOnly: true });
      // Until the read waits on the latch.
      expect(await waitingOnLatch(admin)).toBe(true);
      await ddl.query('COMMIT');
      const r = await running;
      expect(r.error?.code).toBe('SQL_SESSION_UNSAFE');
      expect(r.error?.message).toMatch(/pg_catalog\.pg_terminate_backend/);
      expect((await admin.query('SELECT count(*)::int AS c FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0].c).toBe(1);
    } finally {
      await ddl.query('ROLLBACK').catch(() => {});
      await Promise.all([ddl.end(), victim.end().catch(() => {}), conn.close()]);
    }
  });
});
