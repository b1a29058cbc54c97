/**
 * Attacks on the read-only classification and the session hardening, as an
 * agent holding only an API key would try them: SQL the facts call read-only
 * must have no effect on the real server, and nothing one action leaves in a
 * pooled session may reach the next (real PostgreSQL, throwaway database and role).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { LATCH_KEYS } from './catalog-latch.ts';
import { createPostgresConnection } from './connection.ts';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

const db = await createTestDatabase();

describe('statements with an effect are never read-only', () => {
  beforeAll(() => loadSqlParser());

  // Each has an effect on the server (or runs SQL text, or holds state past the statement).
  it.each([
    'SELECT setseed(0.5)',
    'SELECT nextval(\'s\')',
    'SELECT currval(\'s\')',
    'SELECT lastval()',
    'SELECT txid_current()',
    'SELECT pg_current_xact_id()',
    'SELECT pg_export_snapshot()',
    'SELECT pg_advisory_xact_lock(1)',
    'SELECT pg_try_advisory_lock(1)',
    'SELECT pg_logical_emit_message(false, \'p\', \'m\')',
    'SELECT pg_switch_wal()',
    'SELECT pg_create_restore_point(\'x\')',
    'SELECT pg_import_system_collations(\'pg_catalog\')',
    'SELECT pg_promote()',
    'SELECT pg_backup_start(\'x\')',
    'SELECT pg_log_backend_memory_contexts(1)',
    'SELECT pg_read_binary_file(\'/etc/passwd\')',
    'SELECT pg_stat_file(\'/etc/passwd\')',
    'SELECT pg_sleep(1)',
    'SELECT query_to_xml(\'delete from t returning 1\', true, true, \'\')',
    'SELECT cursor_to_xml(\'c\', 1, true, true, \'\')',
    'SELECT table_to_xml(\'t\', true, true, \'\')',
    'SELECT database_to_xml(true, true, \'\')',
    'SELECT xpath(\'/a\', \'<a/>\')',
    'SELECT * FROM dblink(\'dbname=x\', \'delete from t\') AS t(a int)',
    'SELECT lo_from_bytea(0, \'x\')',
    'SELECT * FROM pg_catalog.lo_import(\'/etc/passwd\')',
    'SELECT "pg_notify"(\'c\', \'m\')',
    'SELECT pg_temp.lower(\'x\')',
    'SELECT mydb.pg_catalog.lower(\'x\')',
    'SELECT 1 OPERATOR(public.+) 1',
    'SELECT x FROM (VALUES (1)) v(x) ORDER BY x USING OPERATOR(public.<)',
    'SELECT 1 = OPERATOR(public.=) ANY (ARRAY[1])',
    'SELECT 1::public.checked',
    'SELECT * FROM json_to_record(\'{}\') AS r(a public.checked)',
    'SELECT 1 FROM pg_class TABLESAMPLE system_rows(1)',
    'SELECT * FROM pg_class FOR UPDATE',
    'SELECT * FROM pg_class FOR KEY SHARE SKIP LOCKED',
    'SELECT 1 INTO leak',
    'EXPLAIN (ANALYZE on) DELETE FROM t',
    'EXPLAIN (ANALYSE) SELECT 1',
    'EXPLAIN ANALYZE SELECT 1',
    'EXPLAIN (ANALYZE false, ANALYZE) SELECT 1',
    'EXPLAIN CREATE TABLE leak AS SELECT 1',
    'DECLARE c CURSOR WITH HOLD FOR SELECT 1',
    'FETCH 1 FROM c',
    'PREPARE p AS SELECT 1',
    'EXECUTE p',
    'DEALLOCATE ALL',
    'LISTEN chan',
    'LOCK TABLE t IN ACCESS EXCLUSIVE MODE',
    'VACUUM t',
    'ANALYZE t',
    'CHECKPOINT',
    'DISCARD ALL',
    'LOAD \'auto_explain\'',
    'COPY (SELECT 1) TO STDOUT',
    'COPY t TO \'/tmp/x\'',
    'PREPARE TRANSACTION \'x\'',
    'WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d',
    "SELECT 1; SELECT pg_catalog.pg_terminate_backend(1)",
    // A lone surrogate is sent as U+FFFD; the parser must not let it swallow the quote after it.
    "SELECT '\uD800'; SELECT lo_from_bytea(0, 'x') --'",
    'SELECT 1 /*\uDC00*/; SELECT lo_from_bytea(0, \'x\') --*/',
    "SELECT 1 /* /* */ SELECT 2 */; SELECT pg_notify('c', 'm')",
    "SELECT $a$ $$ ; $a$; SELECT pg_notify('c', 'm')",
    "SELECT U&'d\\0061t' UESCAPE '!'; SELECT pg_notify('c', 'm')",
    "SELECT E'\\''; SELECT pg_notify('c', 'm') --'",
  ])('%s', (sql) => {
    let readOnly: boolean;
    try {
      readOnly = deriveSqlFacts(sql).readOnly;
    } catch {
      readOnly = false; // refused before policy
    }
    expect(readOnly).toBe(false);
  });

  it('refuses SQL holding a NUL byte, which the parser and the server would both cut short', () => {
    expect(() => deriveSqlFacts("SELECT 1\u0000; DELETE FROM t")).toThrow(expect.objectContaining({ code: 'INPUT_UNPARSEABLE' }));
  });
});

describe.skipIf(!db)('read-only runs on the real server', () => {
  const url = db?.url ?? '';
  const role = `cs_adv_${randomBytes(4).toString('hex')}`;
  const roleUrl = (() => {
    const u = new URL(url);
    u.username = role;
    u.password = '';
    return u.toString();
  })();
  let admin: pg.Client;
  const largeObjects = async () => Number((await admin.query<{ c: string }>('SELECT count(*) AS c FROM pg_largeobject_metadata')).rows[0]?.c);

  beforeAll(async () => {
    await loadSqlParser();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN; CREATE EXTENSION dblink;
      CREATE FUNCTION public.cs_dblink_connections() RETURNS int LANGUAGE sql AS 'SELECT count(*)::int FROM unnest(public.dblink_get_connections())';`);
  });

  afterAll(async () => {
    await admin?.end();
    await db?.drop();
    const u = new URL(url);
    u.pathname = '/postgres';
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${role}`).finally(() => c.end());
  });

  it('refuses a type named like a built-in when the search_path puts its schema before pg_catalog', async () => {
    const dbName = new URL(url).pathname.slice(1);
    await admin.query(`CREATE FUNCTION public.blob_check(pg_catalog.text) RETURNS boolean LANGUAGE sql
        AS $$ SELECT pg_catalog.lo_from_bytea(0, 'x') OPERATOR(pg_catalog.>) 0 $$;
      CREATE DOMAIN public.text AS pg_catalog.text CHECK (public.blob_check(VALUE));
      ALTER ROLE ${role} IN DATABASE ${dbName} SET search_path = public, pg_catalog;`);
    const conn = createPostgresConnection({ name: 'type-order', url: roleUrl, tags: {} });
    try {
      const before = await largeObjects();
      const sql = "SELECT 'x'::text";
      expect(deriveSqlFacts(sql)).toMatchObject({ readOnly: true, functions: [] });
      const r = await conn.execute({ sql }, { readOnly: true });
      expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
      expect(r.error?.message).toContain('type public.text');
      expect(await largeObjects()).toBe(before);
    } finally {
      await conn.close();
      await admin.query(`ALTER ROLE ${role} IN DATABASE ${dbName} RESET search_path;
        DROP DOMAIN public.text; DROP FUNCTION public.blob_check(pg_catalog.text);`);
    }
  });

  describe('functions reached through a view or a row-level-security policy', () => {
    beforeAll(async () => {
      await admin.query(`CREATE FUNCTION public.blob_fn() RETURNS oid LANGUAGE sql AS $$ SELECT pg_catalog.lo_from_bytea(0, 'x') $$;
        CREATE VIEW public.blob_view AS SELECT public.blob_fn() AS o;
        CREATE VIEW public."Outer View" AS SELECT o FROM public.blob_view;
        CREATE VIEW public.lo_view AS SELECT pg_catalog.lo_from_bytea(0, 'x') AS o;
        CREATE VIEW public.plain_view AS SELECT pg_catalog.lower('A') AS l, n.nspname FROM pg_catalog.pg_namespace n;
        CREATE TABLE public.guarded (id int);
        INSERT INTO public.guarded VALUES (1);
        ALTER TABLE public.guarded ENABLE ROW LEVEL SECURITY;
        CREATE POLICY see_all ON public.guarded USING (public.blob_fn() OPERATOR(pg_catalog.>) 0);
        GRANT SELECT ON public.blob_view, public."Outer View", public.lo_view, public.plain_view, public.guarded TO ${role};`);
    });

    it.each([
      'SELECT * FROM blob_view',
      'SELECT * FROM public.lo_view',
      'SELECT * FROM "Outer View"',
      'WITH x AS (SELECT * FROM blob_view) SELECT * FROM x',
      'SELECT (SELECT count(*) FROM lo_view)',
      'SELECT * FROM guarded',
    ])('refuses %s in a read-only run', async (sql) => {
      const conn = createPostgresConnection({ name: 'views', url: roleUrl, tags: {} });
      try {
        const before = await largeObjects();
        expect(deriveSqlFacts(sql).readOnly).toBe(true);
        const r = await conn.execute({ sql }, { readOnly: true });
        expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
        expect(await largeObjects()).toBe(before);
      } finally {
        await conn.close();
      }
    });

    it.each([
      ['SELECT pid FROM pg_stat_activity', 'pg_catalog.pg_stat_get_activity'],
      ['SELECT count(*) FROM pg_stats', 'pg_catalog.pg_statistic'],
    ])('refuses %s in a read-only run: the server view calls a function off the allow-list, or reads other tables\' values', async (sql, named) => {
      const conn = createPostgresConnection({ name: 'server-views', url: roleUrl, tags: {} });
      try {
        expect(deriveSqlFacts(sql).readOnly).toBe(true);
        const r = await conn.execute({ sql }, { readOnly: true });
        expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
        expect(r.error?.message).toContain(named);
      } finally {
        await conn.close();
      }
    });

    it('still runs a view of allowed built-ins, and the system views; one calling an off-list function where the connection allows it', async () => {
      const conn = createPostgresConnection({ name: 'views-ok', url: roleUrl, tags: {}, readOnlyFunctions: ['pg_catalog.pg_stat_get_activity'] });
      try {
        const r = await conn.execute(
          { sql: "SELECT l FROM plain_view WHERE nspname = 'public'; SELECT count(*) > 0 FROM pg_stat_activity; SELECT count(*) > 0 FROM pg_tables" },
          { readOnly: true },
        );
        expect(r.output).toMatchObject({ results: [{ rows: [['a']] }, { rows: [[true]] }, { rows: [[true]] }] });
      } finally {
        await conn.close();
      }
    });
  });

  it.each(['SELECT m::text FROM moods', 'SELECT to_json(m) FROM moods'])(
    'refuses %s where a cast of the column type runs a function not known free of effects',
    async (sql) => {
      await admin.query(`CREATE TYPE public.mood AS ENUM ('ok');
        CREATE TABLE public.moods (m public.mood); INSERT INTO public.moods VALUES ('ok');
        CREATE FUNCTION public.mood_text(public.mood) RETURNS text LANGUAGE sql AS $$ SELECT pg_catalog.lo_from_bytea(0, 'x')::text $$;
        CREATE FUNCTION public.mood_json(public.mood) RETURNS json LANGUAGE sql AS $$ SELECT pg_catalog.to_json(pg_catalog.lo_from_bytea(0, 'x')) $$;
        CREATE CAST (public.mood AS text) WITH FUNCTION public.mood_text(public.mood);
        CREATE CAST (public.mood AS json) WITH FUNCTION public.mood_json(public.mood);`);
      const conn = createPostgresConnection({ name: 'casts', url, tags: {} });
      try {
        const before = await largeObjects();
        expect(deriveSqlFacts(sql).readOnly).toBe(true);
        const r = await conn.execute({ sql }, { readOnly: true });
        expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
        expect(await largeObjects()).toBe(before);
      } finally {
        await conn.close();
        await admin.query('DROP TABLE public.moods; DROP TYPE public.mood CASCADE');
      }
    },
  );

  it.each([
    ['through a function', 'public.pos_blob(VALUE)'],
    ['directly', "pg_catalog.lo_from_bytea(0, 'x') OPERATOR(pg_catalog.>) 0"],
  ])('refuses coercions to a domain whose CHECK calls a function with an effect %s, though the SQL never names it', async (_how, check) => {
    await admin.query(`CREATE FUNCTION public.pos_blob(int) RETURNS boolean LANGUAGE sql AS $$ SELECT pg_catalog.lo_from_bytea(0, 'x') OPERATOR(pg_catalog.>) 0 $$;
      CREATE DOMAIN public.pos AS int CHECK (${check});
      CREATE TABLE public.scores (s public.pos);`);
    const conn = createPostgresConnection({ name: 'domains', url, tags: {} });
    try {
      const before = await largeObjects();
      for (const sql of [
        'SELECT json_populate_record(r, \'{"s": 5}\') FROM scores r',
        "SELECT s FROM scores UNION ALL SELECT '5'",
        "SELECT COALESCE(s, '5') FROM scores",
      ]) {
        expect(deriveSqlFacts(sql).readOnly).toBe(true);
        const r = await conn.execute({ sql }, { readOnly: true });
        expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
      }
      expect(await largeObjects()).toBe(before);
    } finally {
      await conn.close();
      await admin.query('DROP TABLE public.scores; DROP DOMAIN public.pos; DROP FUNCTION public.pos_blob(int)');
    }
  });

  it('refuses a sort, a DISTINCT or a comparison by a user-made operator class, unless its functions are allowed', async () => {
    await admin.query(`CREATE TYPE public.k AS (v int);
      CREATE FUNCTION public.kcmp(a public.k, b public.k) RETURNS int LANGUAGE sql AS $$ SELECT pg_catalog.btint4cmp(a.v, b.v) $$;
      CREATE FUNCTION public.klt(a public.k, b public.k) RETURNS boolean LANGUAGE sql AS $$ SELECT public.kcmp(a, b) OPERATOR(pg_catalog.<) 0 $$;
      CREATE FUNCTION public.keq(a public.k, b public.k) RETURNS boolean LANGUAGE sql AS $$ SELECT public.kcmp(a, b) OPERATOR(pg_catalog.=) 0 $$;
      CREATE SCHEMA hidden;
      CREATE OPERATOR hidden.< (LEFTARG = public.k, RIGHTARG = public.k, FUNCTION = public.klt);
      CREATE OPERATOR hidden.= (LEFTARG = public.k, RIGHTARG = public.k, FUNCTION = public.keq);
      CREATE OPERATOR CLASS hidden.k_ops DEFAULT FOR TYPE public.k USING btree
        AS OPERATOR 1 hidden.<, OPERATOR 3 hidden.=, FUNCTION 1 public.kcmp(public.k, public.k);
      CREATE TABLE public.ks (c public.k); INSERT INTO public.ks VALUES (ROW(2)), (ROW(1));`);
    const sqls = ['SELECT c FROM ks ORDER BY c', 'SELECT DISTINCT c FROM ks', 'SELECT array_position(ARRAY[c], c) FROM ks', 'SELECT greatest(c, c) FROM ks'];
    const refusing = createPostgresConnection({ name: 'opclass', url, tags: {} });
    const allowing = createPostgresConnection({ name: 'opclass-allowed', url, tags: {}, readOnlyFunctions: ['public.kcmp', 'public.klt', 'public.keq'] });
    try {
      for (const sql of sqls) {
        expect(deriveSqlFacts(sql).readOnly).toBe(true);
        const r = await refusing.execute({ sql }, { readOnly: true });
        expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
        expect(r.error?.message).toContain('operator family hidden.k_ops (function public.kcmp)');
        expect((await allowing.execute({ sql }, { readOnly: true })).error).toBeUndefined();
      }
    } finally {
      await refusing.close();
      await allowing.close();
      await admin.query('DROP TABLE public.ks; DROP SCHEMA hidden CASCADE; DROP TYPE public.k CASCADE');
    }
  });

  // The parser's grammar (PostgreSQL 17) builds these in; an older server reads each as a call of that name on the search_path.
  it.each([
    ["SELECT json_object('{a,b}')", 'json_object(text)'],
    ["SELECT json_scalar(1)", 'json_scalar(int)'],
    ["SELECT json_serialize('1')", 'json_serialize(text)'],
    ["SELECT json_query('{}', '$')", 'json_query(text, text)'],
    ["SELECT json_value('{}', '$')", 'json_value(text, text)'],
    ["SELECT json_exists('{}', '$')", 'json_exists(text, text)'],
    ['SELECT json_array(1)', 'json_array(int)'],
    ['SELECT json_arrayagg(1)', 'json_arrayagg(int)'],
    // merge_action() outside MERGE is not on the allow-list: policy already sees a write; the run is still refused.
    ['SELECT merge_action()', 'merge_action()', false],
  ])('refuses %s when another schema on the search_path holds a function of that name', async (sql, signature, readOnly = true) => {
    await admin.query(`CREATE FUNCTION public.${signature} RETURNS oid LANGUAGE sql AS $$ SELECT pg_catalog.lo_from_bytea(0, 'x') $$`);
    const conn = createPostgresConnection({ name: 'syntax', url, tags: {} });
    try {
      const before = await largeObjects();
      expect(deriveSqlFacts(sql).readOnly).toBe(readOnly);
      const r = await conn.execute({ sql }, { readOnly: true });
      expect(r.error).toMatchObject({ code: 'SQL_SESSION_UNSAFE' });
      expect(await largeObjects()).toBe(before);
    } finally {
      await conn.close();
      await admin.query(`DROP FUNCTION public.${signature}`);
    }
  });

  // What an approved write leaves in its session, and how the next action on that pooled session would see it.
  it.each([
    ['a temporary table', 'CREATE TEMP TABLE leak (a int)', "SELECT count(*)::int FROM pg_class WHERE relname = 'leak'"],
    ['a prepared statement', 'PREPARE leak AS SELECT 1', 'SELECT count(*)::int FROM pg_prepared_statements'],
    ['a LISTEN registration', 'LISTEN leak', 'SELECT count(*)::int FROM pg_listening_channels()'],
    // pg_locks lists the whole server: only the locks the probe's own backend holds are what reached its session (the
    // write's closed session may still be ending, and other files' gateways hold advisory locks of their own).
    // The probe's own run holds the gateway's latch (catalog-latch.ts), which is not what it looks for.
    [
      'a session advisory lock',
      'SELECT pg_advisory_lock(4242)',
      `SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND (classid, objid) <> (${LATCH_KEYS[0]}, ${LATCH_KEYS[1]})`,
    ],
    ['a cursor WITH HOLD', 'DECLARE leak CURSOR WITH HOLD FOR SELECT 1', 'SELECT count(*)::int FROM pg_cursors'],
    [
      'a search_path set from inside a DO block',
      "DO $$ BEGIN PERFORM set_config('search_path', 'pg_temp, public', false); END $$",
      "SELECT (current_setting('search_path') <> '\"$user\", public')::int",
    ],
    ['a random seed', 'SELECT setseed(0.25)', 'SELECT (random() = 0.19726358498438978)::int'],
    // No run calls a dblink function by name (session-settings.ts): a DO block's body, which no check reads, still can.
    [
      'a dblink connection',
      `DO $$ BEGIN PERFORM public.dblink_connect('leak', 'host=127.0.0.1 dbname=' || current_database() || ' user=' || current_user); END $$`,
      'SELECT public.cs_dblink_connections()',
    ],
  ])('%s does not reach the next action on the same pooled session', async (_what, write, probe) => {
    const conn = createPostgresConnection({ name: 'reuse', url, tags: {}, poolSize: 1 });
    try {
      const w = await conn.execute({ sql: write }, { readOnly: false });
      expect(w.error).toBeUndefined();
      const r = await conn.execute({ sql: probe }, { readOnly: false });
      expect(r.output).toMatchObject({ results: [{ rows: [[0]] }] });
    } finally {
      await conn.close();
    }
  });
});
