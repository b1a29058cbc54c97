/**
 * Credentials are not read whatever rule lets a statement run. A policy may
 * allow SQL by statement type (`copy`, `select`, `show`) rather than by
 * `readOnly`; such a statement is not a read to the gateway (COPY is not, and
 * neither is a SELECT calling nextval()), and the session check used to look
 * for credential catalogs only in reads. So `COPY pg_authid TO STDOUT` read
 * every role's password verifier. Now every run, over REST and the wire
 * listener, is refused when it reaches a catalog holding credentials
 * (pg_authid, pg_user_mapping, pg_subscription, named or through a view), a
 * TOAST table or statistics catalog (other tables' values), or a setting that
 * may hold a credential (SHOW, current_setting(), pg_settings, a view of them),
 * or when it calls a function reading what no check sees by name (SQL text in
 * query_to_xml, a relation named as a value, a server file).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { queryOnce } from '../support/pg-raw.ts';
import { approve } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { byTypePolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

/** A role of this run with a password (roles are cluster-wide): its SCRAM verifier is in pg_authid.rolpassword. */
const role = `cs_cred_${randomBytes(4).toString('hex')}`;

/** Reads allowed; COPY, SELECT and SHOW allowed by statement type, whatever they call; updates held. */
const POLICY = byTypePolicy(['copy', 'select', 'show'], `    - id: updates
      when: facts.sql.statements.all(s, s.type == "update")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`);

/** What a leak would show: the role's SCRAM verifier, the mapping's password, a TOAST chunk. */
const LEAK = /hunter2|SCRAM-SHA-256\$/;

describe.skipIf(!db)('credentials are refused whatever rule allows the statement', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  let toast = '';

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE t (id int, note text); INSERT INTO t VALUES (1, 'one'); CREATE SEQUENCE s;
      CREATE TABLE secrets (s text); ALTER TABLE secrets ALTER s SET STORAGE EXTERNAL; INSERT INTO secrets VALUES (repeat('hunter2-toast ', 400));
      CREATE ROLE ${role} LOGIN PASSWORD 'hunter2-role';
      CREATE FOREIGN DATA WRAPPER cs_fdw; CREATE SERVER cs_srv FOREIGN DATA WRAPPER cs_fdw;
      CREATE USER MAPPING FOR CURRENT_USER SERVER cs_srv OPTIONS (user 'remote', password 'hunter2-fdw');
      CREATE VIEW creds AS SELECT rolname, rolpassword FROM pg_catalog.pg_authid;
      CREATE VIEW conninfo AS SELECT current_setting('primary_conninfo') AS c;
      CREATE VIEW settings AS SELECT name, setting FROM pg_catalog.pg_show_all_settings() a;
      CREATE TABLE tenants (id int, tenant text); INSERT INTO tenants VALUES (1, 'a'), (2, 'b');
      ALTER TABLE tenants ENABLE ROW LEVEL SECURITY; ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
      CREATE POLICY own ON tenants USING (tenant = current_setting('app.tenant', true) OR current_setting('app.tenant', true) IS NULL);`);
    // A secret kept as a custom setting, as PostgREST keeps its JWT secret (app.settings.jwt_secret).
    await direct.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET app.jwt_secret = %L', current_database(), 'hunter2-jwt'); END $$`);
    toast = (await direct.query<{ t: string }>("SELECT reltoastrelid::regclass::text AS t FROM pg_class WHERE oid = 'secrets'::regclass")).rows[0]!.t;
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.query(`DROP USER MAPPING IF EXISTS FOR CURRENT_USER SERVER cs_srv; DROP ROLE IF EXISTS ${role}`);
    await direct?.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET ALL', current_database()); END $$`);
    await direct?.end();
  });

  /** Allowed by the by-type rule, not reads: each reaches a credential or another table's values. */
  const REFUSED = () => [
    { what: 'COPY of pg_authid', sql: 'COPY pg_authid TO STDOUT', names: 'pg_catalog.pg_authid' },
    { what: 'COPY of a query of pg_authid', sql: `COPY (SELECT rolname, rolpassword FROM pg_authid WHERE rolname = '${role}') TO STDOUT`, names: 'pg_catalog.pg_authid' },
    { what: 'COPY of pg_shadow', sql: `COPY (SELECT passwd FROM pg_shadow WHERE usename = '${role}') TO STDOUT`, names: 'pg_catalog.pg_authid' },
    { what: "COPY of a user's view of pg_authid", sql: 'COPY (SELECT * FROM creds) TO STDOUT', names: 'pg_catalog.pg_authid' },
    { what: 'COPY of pg_user_mappings', sql: 'COPY (SELECT umoptions FROM pg_user_mappings) TO STDOUT', names: 'pg_catalog.pg_user_mapping' },
    { what: 'COPY of user_mapping_options', sql: 'COPY (SELECT option_value FROM information_schema.user_mapping_options) TO STDOUT', names: 'pg_catalog.pg_user_mapping' },
    { what: 'COPY of pg_subscription', sql: 'COPY (SELECT subconninfo FROM pg_subscription) TO STDOUT', names: 'pg_catalog.pg_subscription' },
    { what: 'COPY of a TOAST table', sql: `COPY ${toast} TO STDOUT`, names: toast },
    { what: 'COPY of pg_statistic', sql: 'COPY (SELECT stavalues1::text FROM pg_statistic) TO STDOUT', names: 'pg_catalog.pg_statistic' },
    { what: 'a SELECT that is not a read (nextval) of pg_authid', sql: `SELECT rolpassword, nextval('s') FROM pg_authid WHERE rolname = '${role}'`, names: 'pg_catalog.pg_authid' },
    { what: 'SHOW of a credential setting', sql: 'SHOW primary_conninfo', names: 'primary_conninfo' },
    { what: 'SHOW ALL', sql: 'SHOW ALL', names: 'SHOW ALL' },
    { what: 'COPY of current_setting() of a credential setting', sql: "COPY (SELECT current_setting('archive_command')) TO STDOUT", names: 'archive_command' },
    { what: 'COPY of current_setting() of a computed name', sql: "COPY (SELECT current_setting('restore_' || 'command')) TO STDOUT", names: 'computed' },
    { what: 'COPY of pg_settings', sql: "COPY (SELECT setting FROM pg_settings WHERE name = 'primary_conninfo') TO STDOUT", names: 'pg_catalog.pg_settings' },
    { what: 'COPY of pg_show_all_settings()', sql: 'COPY (SELECT name, setting FROM pg_show_all_settings()) TO STDOUT', names: 'pg_catalog.pg_show_all_settings' },
    { what: 'COPY of pg_file_settings', sql: 'COPY (SELECT setting FROM pg_file_settings) TO STDOUT', names: 'pg_catalog.pg_file_settings' },
    { what: "COPY of a user's view calling current_setting()", sql: 'COPY (SELECT * FROM conninfo) TO STDOUT', names: 'conninfo' },
    { what: "COPY of a user's view calling pg_show_all_settings()", sql: 'COPY (SELECT * FROM settings) TO STDOUT', names: 'settings' },
    { what: 'COPY of query_to_xml() of pg_authid (SQL text)', sql: "COPY (SELECT query_to_xml('SELECT rolpassword FROM pg_authid', true, true, '')) TO STDOUT", names: 'pg_catalog.query_to_xml' },
    { what: 'COPY of table_to_xml() of pg_authid (a name as a value)', sql: "COPY (SELECT table_to_xml('pg_authid', true, true, '')) TO STDOUT", names: 'pg_catalog.table_to_xml' },
    { what: 'COPY of pg_read_file() of postgresql.auto.conf (where ALTER SYSTEM keeps primary_conninfo)', sql: "COPY (SELECT pg_read_file('postgresql.auto.conf')) TO STDOUT", names: 'pg_catalog.pg_read_file' },
  ];

  it('over the wire listener: each refused (55000), nothing read', async () => {
    for (const { sql, names } of REFUSED()) {
      const { codes, text } = await queryOnce(gw, sql);
      expect(codes, sql).toEqual(['55000']);
      expect(text, sql).toContain(names);
      expect(text, sql).not.toMatch(LEAK);
      expect(text, sql).not.toMatch(/\\N|postgres\\t/);
    }
  }, 60_000);

  it('over REST: each fails with SQL_SESSION_UNSAFE, nothing read', async () => {
    for (const { sql, names } of REFUSED()) {
      const r = await sqlAction(gw, sql);
      expect(r.status, sql).toBe(200);
      const body = r.body as { status?: string; error?: { code: string; message: string } };
      expect(body.status, sql).toBe('failed');
      expect(body.error?.code, sql).toBe('SQL_SESSION_UNSAFE');
      expect(body.error?.message, sql).toContain(names);
      expect(JSON.stringify(r.body), sql).not.toMatch(LEAK);
    }
  }, 60_000);

  it('a custom setting (a secret kept with ALTER DATABASE … SET app.jwt_secret) is not read, even under the read rule', async () => {
    for (const [sql, names] of [
      ["SELECT current_setting('app.jwt_secret')", 'app.jwt_secret'],
      ["SELECT pg_catalog.current_setting('APP.JWT_SECRET', true) AS s", 'app.jwt_secret'],
      ['SHOW app.jwt_secret', 'app.jwt_secret'],
      ['SELECT setconfig FROM pg_db_role_setting', 'pg_catalog.pg_db_role_setting'],
    ] as const) {
      const { codes, text } = await queryOnce(gw, sql);
      expect(codes, sql).toEqual(['55000']);
      expect(text, sql).toContain(names);
      expect(text, sql).not.toMatch(LEAK);
      const r = await sqlAction(gw, sql);
      expect((r.body as { error?: { code: string } }).error?.code, sql).toBe('SQL_SESSION_UNSAFE');
      expect(JSON.stringify(r.body), sql).not.toMatch(LEAK);
    }
    // A row-level-security policy filtering on a custom setting still reads (its value is not returned).
    const { codes, text } = await queryOnce(gw, 'SELECT id FROM tenants ORDER BY id');
    expect(codes).toEqual([]);
    expect(text).toContain('[["1"],["2"]]');
  }, 60_000);

  it('what reaches no credential still runs under the same rules: COPY of a table and of pg_roles, SHOW TimeZone, a SELECT calling nextval()', async () => {
    for (const sql of ['COPY t TO STDOUT', `COPY (SELECT rolname, rolpassword FROM pg_roles WHERE rolname = '${role}') TO STDOUT`, 'SHOW TimeZone', "SELECT nextval('s'), note FROM t"]) {
      const { codes, text } = await queryOnce(gw, sql);
      expect(codes, sql).toEqual([]);
      expect(text, sql).not.toMatch(LEAK);
      const r = await sqlAction(gw, sql);
      expect(r.status, sql).toBe(200);
      expect((r.body as { status: string }).status, sql).toBe('succeeded');
    }
    expect((await direct.query<{ v: string }>("SELECT last_value::text AS v FROM s")).rows[0]!.v).toBe('2');
  }, 60_000);

  it('an approved write reading a credential catalog is refused when it runs: nothing written', async () => {
    const sql = `UPDATE t SET note = (SELECT rolpassword FROM pg_authid WHERE rolname = '${role}') WHERE id = 1`;
    const held = await sqlAction(gw, sql);
    expect(held.status).toBe(202);
    const id = (held.body as { id: string }).id;
    await approve(gw, id);
    const final = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${id}`);
      return ['succeeded', 'failed'].includes((r.body as { status: string }).status) ? (r.body as { status: string }) : undefined;
    });
    expect(final.status).toBe('failed');
    expect(JSON.stringify(final)).toContain('SQL_SESSION_UNSAFE');
    expect(JSON.stringify(final)).not.toMatch(LEAK);
    expect((await direct.query('SELECT note FROM t')).rows).toEqual([{ note: 'one' }]);
  }, 60_000);

  it("a function writing the server's files (lo_export) is refused whatever rule allowed the SELECT: no file written", async () => {
    const oid = (await direct.query<{ oid: number }>("SELECT lo_from_bytea(0, 'archive_command = ''true''') AS oid")).rows[0]!.oid;
    const path = `/tmp/cs-lo-export-${randomBytes(4).toString('hex')}`;
    const missing = async () => (await direct.query<{ missing: boolean }>('SELECT pg_stat_file($1, true) IS NULL AS missing', [path])).rows[0]!.missing;
    try {
      const sql = `SELECT lo_export(${oid}, '${path}')`;
      const { codes, text } = await queryOnce(gw, sql);
      expect(codes).toEqual(['55000']);
      expect(text).toContain('lo_export');
      const r = await sqlAction(gw, sql);
      expect((r.body as { error?: { code: string } }).error?.code).toBe('SQL_SESSION_UNSAFE');
      expect(await missing()).toBe(true);
      // The same call made directly writes the file: the refusal, not a missing privilege, kept it out.
      await direct.query(sql);
      expect(await missing()).toBe(false);
    } finally {
      await direct.query('SELECT lo_unlink($1)', [oid]);
      rmSync(path, { force: true });
    }
  }, 60_000);
});
