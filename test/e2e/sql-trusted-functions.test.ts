/**
 * Functions an operator trusts as read-only by name (a connection's
 * `readOnlyFunctions`), and event triggers, against a real Postgres through
 * the gateway's wire listener and REST, under a policy that allows reads and,
 * by statement type, creates and alters (agents make their own tables and
 * functions):
 *
 * - `CREATE OR REPLACE FUNCTION public.report_totals()` swaps the body of a
 *   function every read may call unchecked; so does an overload of the same
 *   name (`report_totals(int)`: the name is what is trusted), one of that name
 *   in another schema (earlier on a search_path, it is the one an unqualified
 *   call runs), one renamed or moved to it, and an ALTER of it (`SECURITY
 *   DEFINER`, `SET search_path`). A read calling it would then run the agent's
 *   body. Each is also of type `read_only_function`, which a rule must name.
 * - `CREATE EVENT TRIGGER` (a superuser gateway role) runs its function on
 *   every later DDL of every session, another principal's approved DDL among
 *   them. It is of type `event_trigger`, not a `create`.
 *
 * Each is refused by the default (42501 on the wire, 403 on REST), and the
 * trusted function still answers as the operator wrote it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

const POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
    readOnlyFunctions: [public.report_totals]
policy:
  default: deny
  rules:
    - id: reads
      when: facts.sql.readOnly
      effect: allow
    - id: by-type
      when: facts.sql.statements.all(s, s.type == "select" || s.type == "create" || s.type == "alter")
      effect: allow
`;

describe.skipIf(!db)('a function trusted as read-only by name, and an event trigger', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const totals = async () => (await direct.query<{ n: string }>('SELECT public.report_totals() AS n')).rows[0]!.n;
  const secrets = async () => (await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM secrets')).rows[0]!.n;
  const functions = async () => (await direct.query<{ f: string }>("SELECT p.oid::regprocedure::text AS f FROM pg_proc p WHERE proname IN ('report_totals', 'et') ORDER BY 1")).rows.map((r) => r.f);

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('kept');
      CREATE FUNCTION public.report_totals() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT 42::bigint';
      CREATE SCHEMA early; CREATE FUNCTION public.helper(int) RETURNS bigint LANGUAGE sql AS 'SELECT 7::bigint'`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await direct?.query('DROP EVENT TRIGGER IF EXISTS et').catch(() => undefined);
    await gw?.stop();
    await direct?.end();
  });

  const body = '$$ DELETE FROM secrets; SELECT 1::bigint $$';
  const swaps = [
    `CREATE OR REPLACE FUNCTION public.report_totals() RETURNS bigint LANGUAGE sql AS ${body}`,
    `CREATE OR REPLACE FUNCTION report_totals() RETURNS bigint LANGUAGE sql AS ${body}`,
    `CREATE FUNCTION public.report_totals(int) RETURNS bigint LANGUAGE sql AS ${body}`,
    `CREATE FUNCTION early.report_totals() RETURNS bigint LANGUAGE sql AS ${body}`,
    `CREATE PROCEDURE public.report_totals(text) LANGUAGE sql AS $$ DELETE FROM secrets $$`,
    `CREATE AGGREGATE public.report_totals(int) (sfunc = int4pl, stype = int)`,
    'ALTER FUNCTION public.helper(int) RENAME TO report_totals',
    'ALTER FUNCTION public.report_totals() SECURITY DEFINER',
    'ALTER FUNCTION public.report_totals() SET search_path = early, public',
    'ALTER ROUTINE public.report_totals() OWNER TO CURRENT_USER',
  ];

  it('a statement that makes, replaces, renames to or alters one of that name: refused on the wire and over REST, the function as it was', async () => {
    for (const sql of swaps) {
      expect((await queryOnce(gw, sql)).codes, sql).toEqual(['42501']);
      expect((await sqlAction(gw, sql)).status, sql).toBe(403);
    }
    expect(await functions()).toEqual(['report_totals()']);
    expect(await totals()).toBe('42');
    // The read the swap was for runs the function as the operator wrote it.
    const read = await queryOnce(gw, 'SELECT public.report_totals() AS n');
    expect(read.codes, read.text).toEqual([]);
    expect(read.text).toContain('42');
    expect(await secrets()).toBe(1);
  });

  it('moving a function of another name into that name is refused too: SET SCHEMA of a function named so', async () => {
    await direct.query(`CREATE FUNCTION early.report_totals(int) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'`);
    try {
      const move = 'ALTER FUNCTION early.report_totals(int) SET SCHEMA public';
      expect((await queryOnce(gw, move)).codes).toEqual(['42501']);
      expect((await sqlAction(gw, move)).status).toBe(403);
    } finally {
      await direct.query('DROP FUNCTION early.report_totals(int)');
    }
  });

  it('CREATE EVENT TRIGGER is refused; the functions and tables agents make by type still are made', async () => {
    expect((await queryOnce(gw, "CREATE FUNCTION public.et() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM secrets; END $$")).codes).toEqual([]);
    for (const sql of ['CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION public.et()', 'CREATE EVENT TRIGGER et ON sql_drop EXECUTE PROCEDURE public.et()']) {
      expect((await queryOnce(gw, sql)).codes, sql).toEqual(['42501']);
      expect((await sqlAction(gw, sql)).status, sql).toBe(403);
    }
    expect((await direct.query('SELECT evtname FROM pg_event_trigger')).rows).toEqual([]);
    // Later DDL runs nothing of the agent's.
    expect((await queryOnce(gw, 'CREATE TABLE made (id int)')).codes).toEqual([]);
    expect((await queryOnce(gw, 'CREATE FUNCTION public.report_total_rows() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$')).codes).toEqual([]);
    expect(await secrets()).toBe(1);
  });
});
