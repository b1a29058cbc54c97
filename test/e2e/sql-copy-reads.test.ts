/**
 * A COPY … TO STDOUT reads as a SELECT does, but ran outside the check a
 * SELECT passes: its run was a write's (a COPY is never `readOnly` to policy),
 * so what its query reaches without naming it — a view's function, a
 * row-level-security policy, a foreign table's server — ran unchecked. Under
 * the rule the README gives for exports (`copy` and `select` by type, no
 * function named), `COPY (SELECT * FROM report) TO STDOUT` ran the DELETE a
 * view calls, which `SELECT * FROM report` is refused for. A COPY to the
 * client whose query only reads now runs as a read: in a read-only
 * transaction, after the read's check.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { readsPolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

const POLICY = readsPolicy(`    - id: exports
      when: facts.sql.statements.all(s, s.type in ["copy", "select"]) && facts.sql.functions.size() == 0
      effect: allow
`);

describe.skipIf(!db)('a COPY to the client is checked as the read it is', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const ledger = async () => (await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger')).rows[0]!.n;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE ledger (id int); INSERT INTO ledger SELECT generate_series(1, 3);
      CREATE FUNCTION public.wipe() RETURNS bigint LANGUAGE sql VOLATILE AS $$ WITH d AS (DELETE FROM ledger RETURNING 1) SELECT count(*) FROM d $$;
      CREATE VIEW report AS SELECT public.wipe() AS n;
      CREATE TABLE notes (id int, v text); INSERT INTO notes VALUES (1, 'kept')`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('SELECT of the view is refused at run (the check a read passes), the rows kept', async () => {
    const r = await sqlAction(gw, 'SELECT * FROM report');
    expect(r.body.status, JSON.stringify(r.body)).toBe('failed');
    expect(await ledger()).toBe(3);
  });

  it('COPY (SELECT of the view) TO STDOUT, over REST and the wire listener: refused as the SELECT is, the rows kept', async () => {
    const wire = await queryOnce(gw, 'COPY (SELECT * FROM report) TO STDOUT');
    expect(await ledger()).toBe(3);
    expect(wire.codes.length, JSON.stringify(wire)).toBeGreaterThan(0);
    const r = await sqlAction(gw, 'COPY (SELECT * FROM report) TO STDOUT');
    expect(await ledger()).toBe(3);
    expect(r.body.status, JSON.stringify(r.body)).toBe('failed');
  });

  it('a COPY of a plain table or query to the client still runs', async () => {
    const wire = await queryOnce(gw, 'COPY (SELECT id, v FROM notes) TO STDOUT');
    expect(wire.codes, JSON.stringify(wire)).toEqual([]);
    const t = await queryOnce(gw, 'COPY notes TO STDOUT');
    expect(t.codes, JSON.stringify(t)).toEqual([]);
  });
});
