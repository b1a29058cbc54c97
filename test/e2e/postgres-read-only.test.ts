/**
 * "Read-only" SQL end to end, under a policy that allows reads outright:
 * a SELECT calling a function with effects is held as a write; the upstream
 * session reads text as the parser did even where the role turns
 * standard_conforming_strings off; a read reaching a function with effects
 * through a view or an older server's grammar runs nothing; an action cannot switch its timeout off,
 * and a run past the deadline is cancelled on the server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

/** A replication slot name of this run: a slot is cluster-wide and keeps WAL until dropped. */
const slot = `cs_e2e_${randomBytes(4).toString('hex')}`;

const act = (g: TestGateway, connection: string, sql: string) => g.as('deploy-bot', '/v1/actions', { body: { connection, input: { sql }, reason: 'e2e' } });

/** Runs SQL on the server's maintenance database (roles are cluster-wide). */
async function onServer(dbUrl: string, sql: string): Promise<void> {
  const u = new URL(dbUrl);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe.skipIf(!db)('read-only SQL (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  const role = `cs_e2e_${randomBytes(4).toString('hex')}`;
  const roleUrl = (() => {
    const u = new URL(url);
    u.username = role;
    return u.toString();
  })();
  let gw: TestGateway;
  let client: pg.Client;
  const count = async (sql: string) => Number((await client.query<{ c: string }>(sql)).rows[0]?.c);

  beforeAll(async () => {
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const dbName = new URL(url).pathname.slice(1);
    await client.query(`CREATE TABLE t (id int PRIMARY KEY, note text);
      INSERT INTO t VALUES (1, 'one'), (2, 'two');
      CREATE EXTENSION dblink;
      CREATE FUNCTION public.report_totals() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM t $$;
      CREATE FUNCTION public.no_timeout() RETURNS text LANGUAGE sql AS $$ SELECT set_config('statement_timeout', '0', false) $$;
      CREATE VIEW public.blob_view AS SELECT lo_from_bytea(0, 'x') AS o;
      CREATE FUNCTION public.json_scalar(int) RETURNS oid LANGUAGE sql AS $$ SELECT lo_from_bytea(0, 'x') $$;
      CREATE ROLE ${role} LOGIN;
      GRANT ALL ON t TO ${role};
      ALTER ROLE ${role} IN DATABASE ${dbName} SET standard_conforming_strings = off;`);
    gw = await startTestGateway(
      `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
    readOnlyFunctions: [public.report_totals]
  - name: legacy-db
    kind: postgres
    url: \${LEGACY_DB_URL}
  - name: slow-db
    kind: postgres
    url: \${APP_DB_URL}
    statementTimeoutMs: 1000
    poolSize: 2
policy:
  default: deny
  rules:
    - id: reads
      when: facts.sql.readOnly
      effect: allow
    - id: writes
      when: facts.sql.writes && connection.name != "slow-db"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: slow-anything
      when: connection.name == "slow-db"
      effect: allow
    - id: no-signals
      when: facts.sql.functions.exists(f, f in ["pg_catalog.pg_terminate_backend", "pg_catalog.pg_cancel_backend"])
      effect: deny
      message: no signals to other sessions
`,
      { env: { APP_DB_URL: url, LEGACY_DB_URL: roleUrl } },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await client?.end();
    await db?.drop();
    await onServer(url, `DROP ROLE IF EXISTS ${role}`);
    // Only a run of the code before the fix ever creates it; never leave a slot holding WAL.
    await onServer(url, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}'`);
  });

  it.each([
    ["SELECT lo_from_bytea(0, 'x')", 'pg_catalog.lo_from_bytea'],
    ["SELECT lo_put(1, 0, 'x')", 'pg_catalog.lo_put'],
    ['SELECT lo_unlink(1)', 'pg_catalog.lo_unlink'],
    ["SELECT lo_import('/etc/hostname')", 'pg_catalog.lo_import'],
    ["SELECT lo_export(1, '/tmp/countersign-e2e')", 'pg_catalog.lo_export'],
    ["SELECT pg_notify('jobs', 'run')", 'pg_catalog.pg_notify'],
    [`SELECT * FROM pg_create_physical_replication_slot('${slot}')`, 'pg_catalog.pg_create_physical_replication_slot'],
    ['SELECT pg_reload_conf()', 'pg_catalog.pg_reload_conf'],
    ['SELECT pg_stat_reset()', 'pg_catalog.pg_stat_reset'],
    ["SELECT dblink_exec('dbname=postgres', 'SELECT 1')", 'pg_catalog.dblink_exec'],
    ["SELECT public.dblink_exec('dbname=postgres', 'SELECT 1')", 'public.dblink_exec'],
    ["SELECT nextval('s')", 'pg_catalog.nextval'],
    ['SELECT pg_current_xact_id()', 'pg_catalog.pg_current_xact_id'],
    ["SELECT pg_advisory_lock(1)", 'pg_catalog.pg_advisory_lock'],
    ['SELECT report_totals()', 'pg_catalog.report_totals'],
  ])('holds %s as a write instead of running it under the read rule', async (sql, fn) => {
    const before = await count('SELECT count(*) AS c FROM pg_largeobject_metadata');
    const res = await act(gw, 'app-db', sql);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending');
    expect(res.body.decision.rules).toEqual(['writes']);
    expect(res.body.facts.sql).toMatchObject({ readOnly: false, writes: true });
    expect(res.body.facts.sql.functions).toContain(fn);
    expect(await count('SELECT count(*) AS c FROM pg_largeobject_metadata')).toBe(before);
    expect(await count(`SELECT count(*) AS c FROM pg_replication_slots WHERE slot_name = '${slot}'`)).toBe(0);
  });

  it.each([
    'SELECT * FROM blob_view',
    'WITH v AS (SELECT o FROM public.blob_view) SELECT count(*) FROM v',
    'SELECT json_scalar(1)',
  ])('runs nothing for %s: read-only to policy, but the server would reach a function with an effect', async (sql) => {
    const before = await count('SELECT count(*) AS c FROM pg_largeobject_metadata');
    const res = await act(gw, 'app-db', sql);
    expect(res.status).toBe(200);
    expect(res.body.decision.rules).toEqual(['reads']);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('SQL_SESSION_UNSAFE');
    expect(await count('SELECT count(*) AS c FROM pg_largeobject_metadata')).toBe(before);
  });

  it.each([
    ["SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = 'postgres'", 'pg_catalog.pg_authid'],
    // pg_shadow also shows each role's ALTER ROLE … SET settings (useconfig), where a secret may be kept.
    ['SELECT usename, passwd FROM pg_shadow', 'pg_catalog.pg_authid, pg_catalog.pg_db_role_setting'],
    ['SELECT umoptions FROM pg_user_mappings', 'pg_catalog.pg_user_mapping'],
    ['SELECT subconninfo FROM pg_subscription', 'pg_catalog.pg_subscription'],
  ])('runs nothing for %s: the superuser upstream role would read credentials', async (sql, named) => {
    const res = await act(gw, 'app-db', sql);
    expect(res.status).toBe(200);
    expect(res.body.decision.rules).toEqual(['reads']);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('SQL_SESSION_UNSAFE');
    expect(res.body.error.message).toContain(`${named}, which holds credentials`);
    expect(JSON.stringify(res.body)).not.toContain('SCRAM-SHA-256$');
  });

  it('lets rules name functions schema-qualified', async () => {
    const res = await act(gw, 'app-db', 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity');
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'POLICY_DENIED', message: 'no signals to other sessions' });
  });

  it('runs a function the connection declares read-only, called schema-qualified, under the read rule; elsewhere it is a write', async () => {
    const undeclared = await act(gw, 'legacy-db', 'SELECT public.report_totals() AS n');
    expect(undeclared.status).toBe(202);
    expect(undeclared.body.facts.sql).toMatchObject({ readOnly: false, functions: ['public.report_totals'] });

    const res = await act(gw, 'app-db', 'SELECT public.report_totals() AS n');
    expect(res.status).toBe(200);
    expect(res.body.decision.rules).toEqual(['reads']);
    expect(res.body.facts.sql).toMatchObject({ readOnly: true, functions: ['public.report_totals'] });
    expect(res.body.result.results[0]).toMatchObject({ fields: ['n'], rows: [['2']] });
  });

  it('reads a string as policy did where the role turns standard_conforming_strings off: the smuggled DELETE never runs', async () => {
    const sql = "select 'x\\''; commit; begin read write; delete from t where id = 1; commit; --'";
    const res = await act(gw, 'legacy-db', sql);
    expect(res.status).toBe(200);
    expect(res.body.decision.rules).toEqual(['reads']);
    expect(res.body.facts.sql).toMatchObject({ readOnly: true, statements: [{ type: 'select' }] });
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.results).toEqual([
      { command: 'SELECT', rowCount: 1, fields: ['?column?'], rows: [["x\\'; commit; begin read write; delete from t where id = 1; commit; --"]] },
    ]);
    expect(await count('SELECT count(*) AS c FROM t WHERE id = 1')).toBe(1);
  });

  it.each([
    "SELECT set_config('statement_timeout', '0', false); SELECT pg_sleep(60)",
    'SET statement_timeout = 0; SELECT pg_sleep(60)',
    "SET standard_conforming_strings = off; SELECT 'x\\'' --'",
    'SET ROLE postgres',
  ])('refuses %s with SQL_SETTING_REFUSED, before policy', async (sql) => {
    const res = await act(gw, 'slow-db', sql);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('SQL_SETTING_REFUSED');
  });

  it('cancels on the server runs that switched their timeout off, and the pool keeps serving', async () => {
    const marker = `cs_sleep_${randomBytes(3).toString('hex')}`;
    const sql = `SELECT public.no_timeout(); SELECT pg_sleep(120), '${marker}'`;
    const runs = await Promise.all([1, 2, 3].map(() => act(gw, 'slow-db', sql)));
    for (const r of runs) {
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('failed');
      expect(r.body.error.message).toContain('was cancelled');
    }
    await eventually(async () => {
      const { rows } = await client.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND state = 'active' AND pid <> pg_backend_pid()`, [marker]);
      return rows.length === 0 ? true : undefined;
    }, 10_000);
    const ok = await act(gw, 'slow-db', 'SELECT count(*)::int AS n FROM t');
    expect(ok.body.status).toBe('succeeded');
    expect(ok.body.result.results[0].rows).toEqual([[2]]);
  });
});
