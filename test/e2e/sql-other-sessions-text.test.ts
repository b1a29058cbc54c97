/**
 * The gateway runs every agent's SQL as one upstream role, so what that role
 * sees of other sessions is another agent's: the SQL text of every session
 * (pg_stat_activity.query, pg_stat_get_activity(), pg_stat_statements), the
 * statements prepared or cursors opened on a pooled upstream session
 * (pg_prepared_statements, pg_cursors), large objects (outside the tables a
 * rule names), the settings kept per role (pg_roles.rolconfig,
 * pg_user.useconfig: `ALTER ROLE … SET app.jwt_secret`, as PostgREST keeps
 * its JWT secret) and pg_hba.conf's options (an LDAP bind password). Each read
 * of them is refused, over REST and the wire listener, whatever rule allows
 * the statement; the other columns of those views (pid, state, rolname: what
 * psql's \du and monitoring read) still read.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { errors, queryOnce, Raw } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { byTypePolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

const role = `cs_conf_${randomBytes(4).toString('hex')}`;

/**
 * Reads allowed; COPY, SELECT and SHOW allowed by statement type, whatever they call. pg_stat_activity calls
 * pg_stat_get_activity() (pg_prepared_statements pg_prepared_statement()), off the read-only allow-list: the connection
 * trusts them, so that monitoring reads the views (by a COPY too, which is checked as the read it is: copy-reads.ts).
 */
const POLICY = byTypePolicy(['copy', 'select', 'show']).replace('kind: postgres', 'kind: postgres\n    readOnlyFunctions: [pg_catalog.pg_stat_get_activity, pg_catalog.pg_prepared_statement]');

const LEAK = /hunter2/;

/** psql 15's `\du`, as `psql -E` prints it. */
const PSQL_DU = `SELECT r.rolname, r.rolsuper, r.rolinherit,
  r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
  r.rolconnlimit, r.rolvaliduntil,
  ARRAY(SELECT b.rolname
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid)
        WHERE m.member = r.oid) as memberof
, r.rolreplication
, r.rolbypassrls
FROM pg_catalog.pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY 1;`;

describe.skipIf(!db)("other sessions' SQL, large objects and per-role settings are refused whatever rule allows the statement", () => {
  let gw: TestGateway;
  let direct: pg.Client;
  let other: pg.Client;
  let lo = 0;
  let statements = false;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE ROLE ${role} NOLOGIN; ALTER ROLE ${role} SET app.jwt_secret = 'hunter2-jwt';
      CREATE VIEW activity AS SELECT pid, query FROM pg_catalog.pg_stat_activity;
      CREATE VIEW activity_states AS SELECT pid, state FROM pg_catalog.pg_stat_activity;
      CREATE VIEW role_settings AS SELECT rolname, rolconfig FROM pg_catalog.pg_roles;`);
    lo = (await direct.query<{ o: number }>("SELECT lo_from_bytea(0, 'hunter2-lo') AS o")).rows[0]!.o;
    statements = (await direct.query("SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements'")).rowCount === 1;
    if (statements) await direct.query('CREATE EXTENSION pg_stat_statements');
    // Another session (another agent, or an operator) whose last statement carries a secret: pg_stat_activity shows it.
    other = new pg.Client({ connectionString: db!.url });
    await other.connect();
    await other.query("SELECT 'hunter2-other-session' AS x");
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await other?.end();
    await direct?.query(`DROP ROLE IF EXISTS ${role}`);
    await direct?.end();
  });

  const REFUSED = () => [
    { sql: 'SELECT query FROM pg_stat_activity', names: 'pg_stat_activity.query' },
    { sql: "SELECT a.pid FROM pg_catalog.pg_stat_activity a WHERE a.query LIKE '%other-session%'", names: 'pg_stat_activity.query' },
    { sql: 'SELECT * FROM pg_stat_activity', names: 'pg_stat_activity.*' },
    { sql: 'SELECT row_to_json(a) FROM pg_stat_activity a', names: 'pg_stat_activity a' },
    { sql: 'SELECT (a).query FROM pg_stat_activity a', names: 'pg_stat_activity.query' },
    { sql: 'SELECT x FROM pg_stat_activity AS a(d, n, p, l, u, un, an, ca, ch, cp, bs, xs, qs, sc, wt, we, s, bx, bm, qi, x)', names: 'pg_stat_activity a' },
    { sql: 'COPY (SELECT query FROM pg_stat_activity) TO STDOUT', names: 'pg_stat_activity.query' },
    { sql: 'COPY (SELECT query FROM pg_stat_get_activity(NULL)) TO STDOUT', names: 'pg_catalog.pg_stat_get_activity' },
    { sql: 'COPY (SELECT * FROM activity) TO STDOUT', names: 'pg_stat_activity.query (through activity)' },
    { sql: 'COPY (SELECT query FROM pg_stat_statements) TO STDOUT', names: 'pg_stat_statements.query' },
    { sql: 'COPY (SELECT query FROM pg_stat_statements(true)) TO STDOUT', names: 'pg_stat_statements' },
    { sql: 'COPY (SELECT name, statement FROM pg_prepared_statements) TO STDOUT', names: 'pg_prepared_statements.statement' },
    { sql: 'COPY (SELECT statement FROM pg_cursors) TO STDOUT', names: 'pg_cursors.statement' },
    { sql: `SELECT lo_get(${lo})`, names: 'pg_catalog.lo_get' },
    { sql: `COPY (SELECT lo_get(${lo})) TO STDOUT`, names: 'pg_catalog.lo_get' },
    { sql: `COPY (SELECT loread(lo_open(${lo}, 262144), 100)) TO STDOUT`, names: 'pg_catalog.loread' },
    { sql: 'COPY (SELECT data FROM pg_largeobject) TO STDOUT', names: 'pg_catalog.pg_largeobject' },
    { sql: 'SELECT data FROM pg_largeobject', names: 'pg_catalog.pg_largeobject' },
    { sql: 'SELECT rolname, rolconfig FROM pg_roles', names: 'pg_roles.rolconfig' },
    { sql: 'SELECT * FROM pg_catalog.pg_roles', names: 'pg_roles.*' },
    { sql: 'SELECT r FROM pg_roles r', names: 'pg_roles r' },
    { sql: 'SELECT useconfig FROM pg_user', names: 'pg_user.useconfig' },
    { sql: 'COPY (SELECT rolconfig FROM pg_roles) TO STDOUT', names: 'pg_roles.rolconfig' },
    { sql: 'SELECT * FROM role_settings', names: 'pg_roles.rolconfig (through role_settings)' },
    { sql: 'COPY (SELECT options FROM pg_hba_file_rules) TO STDOUT', names: 'pg_catalog.pg_hba_file_rules' },
  ];

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
      expect(body.error?.code, sql).toBe('SQL_SESSION_UNSAFE');
      expect(body.error?.message, sql).toContain(names);
      expect(JSON.stringify(r.body), sql).not.toMatch(LEAK);
    }
  }, 60_000);

  it('over the extended protocol (Parse/Bind/Execute, as drivers send): refused (55000), nothing read', async () => {
    for (const [sql, values] of [
      ['SELECT query FROM pg_stat_activity WHERE pid <> $1::int', ['0']],
      ['SELECT rolconfig FROM pg_roles WHERE rolname = $1', [role]],
      ['SELECT lo_get($1::oid)', [String(lo)]],
    ] as const) {
      const c = await Raw.open(gw);
      try {
        c.send(serialize.parse({ text: sql }), serialize.bind({ values: [...values] }), serialize.execute({}), serialize.sync());
        const answer = await c.until('readyForQuery');
        expect(errors(answer), sql).toEqual(['55000']);
        expect(JSON.stringify(answer), sql).not.toMatch(LEAK);
      } finally {
        c.end();
      }
    }
  }, 60_000);

  it("the other columns still read: psql's \\du, role names, sessions' pids and states", async () => {
    for (const [sql, shows] of [
      [PSQL_DU, role],
      [`SELECT rolname FROM pg_roles WHERE rolname = '${role}'`, role],
      [`COPY (SELECT rolname, rolsuper FROM pg_roles WHERE rolname = '${role}') TO STDOUT`, role],
      // pg_stat_activity calls pg_stat_get_activity(), which the connection trusts as a read here.
      ['COPY (SELECT pid, state, wait_event FROM pg_stat_activity WHERE pid = pg_backend_pid()) TO STDOUT', 'active'],
      ['COPY (SELECT a.pid, a.backend_type FROM pg_catalog.pg_stat_activity a WHERE a.state IS NOT NULL) TO STDOUT', 'client backend'],
      ['COPY (SELECT state FROM activity_states WHERE pid = pg_backend_pid()) TO STDOUT', 'active'],
      ['COPY (SELECT count(*) FROM pg_prepared_statements) TO STDOUT', ''],
    ] as const) {
      const { codes, text } = await queryOnce(gw, sql);
      expect(codes, `${sql}: ${text}`).toEqual([]);
      expect(text, sql).toContain(shows);
      expect(text, sql).not.toMatch(LEAK);
      const r = await sqlAction(gw, sql);
      expect((r.body as { status: string }).status, `${sql}: ${JSON.stringify(r.body)}`).toBe('succeeded');
    }
  }, 60_000);
});
