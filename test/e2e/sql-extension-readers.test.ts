/**
 * Extensions' functions that read a relation named as a value, SQL text, or
 * raw pages are credentials' readers like query_to_xml: no check sees what
 * they read. Under a rule allowing SELECT by statement type (a SELECT calling
 * a function off the allow-list is not a read, but such a rule lets it run),
 * dblink_build_sql_insert('pg_authid', …) returned an INSERT holding a role's
 * SCRAM verifier, tablefunc's crosstab() ran SQL text over pg_authid, xml2's
 * xpath_table() read a relation and a WHERE clause given as text, and
 * pageinspect's get_raw_page('pg_authid', 0) returned the catalog's page.
 * Each is now refused before it runs (55000 / SQL_SESSION_UNSAFE), over the
 * wire listener and REST alike.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { byTypePolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

/** A role of this run with a password (roles are cluster-wide): its SCRAM verifier is in pg_authid.rolpassword. */
const role = `cs_ext_${randomBytes(4).toString('hex')}`;

/** Reads allowed; SELECT allowed by statement type, whatever it calls. */
const POLICY = byTypePolicy(['select']);

const LEAK = /SCRAM-SHA-256\$|hunter2/;

describe.skipIf(!db)("extensions' readers of a relation named as a value or of SQL text are refused whatever rule allows the SELECT", () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE EXTENSION dblink; CREATE EXTENSION tablefunc; CREATE EXTENSION xml2; CREATE EXTENSION pageinspect;
      CREATE ROLE ${role} PASSWORD 'hunter2-ext'; CREATE TABLE t (id int); INSERT INTO t VALUES (1)`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.query(`DROP ROLE IF EXISTS ${role}`);
    await direct?.end();
  });

  const REFUSED = () => [
    { sql: `SELECT dblink_build_sql_insert('pg_authid', '2', 1, '{${role}}', '{${role}}')`, names: 'dblink_build_sql_insert' },
    { sql: `SELECT public.dblink_build_sql_update('pg_authid', '2', 1, '{${role}}', '{${role}}')`, names: 'public.dblink_build_sql_update' },
    {
      sql: `SELECT * FROM crosstab('SELECT rolname, ''a''::text, rolpassword FROM pg_authid WHERE rolname = ''${role}'' ORDER BY 1') AS ct(r name, a text)`,
      names: 'pg_catalog.crosstab',
    },
    { sql: `SELECT * FROM xpath_table('rolpassword', '''<a>1</a>''', 'pg_authid', '/a', 'rolname = ''${role}''') AS x(k text, a text)`, names: 'pg_catalog.xpath_table' },
    { sql: "SELECT encode(get_raw_page('pg_authid', 0), 'escape')", names: 'pg_catalog.get_raw_page' },
  ];

  it('the same calls made directly read the verifier: the refusal, not a missing privilege, keeps it out', async () => {
    for (const { sql } of REFUSED()) expect(JSON.stringify((await direct.query(sql)).rows), sql).toMatch(LEAK);
  });

  it('over the wire listener: each refused (55000), nothing read', async () => {
    for (const { sql, names } of REFUSED()) {
      const { codes, text } = await queryOnce(gw, sql);
      expect(codes, sql).toEqual(['55000']);
      expect(text, sql).toContain(names);
      expect(text, sql).not.toMatch(LEAK);
    }
  }, 60_000);

  it('over REST: each fails with SQL_SESSION_UNSAFE, nothing read', async () => {
    for (const { sql, names } of REFUSED()) {
      const r = await sqlAction(gw, sql);
      const body = r.body as { status?: string; error?: { code: string; message: string } };
      expect(body.status, sql).toBe('failed');
      expect(body.error?.code, sql).toBe('SQL_SESSION_UNSAFE');
      expect(body.error?.message, sql).toContain(names);
      expect(JSON.stringify(r.body), sql).not.toMatch(LEAK);
    }
  }, 60_000);

  it('a SELECT the by-type rule allows that reads no credential still runs', async () => {
    const { codes, text } = await queryOnce(gw, 'SELECT id, pg_catalog.pg_backend_pid() > 0 AS up FROM t');
    expect(codes).toEqual([]);
    expect(text).toContain('"1"');
  });
});
