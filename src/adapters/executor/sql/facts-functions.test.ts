/**
 * A statement is read-only only when every function it invokes is known to
 * be free of effects, and an action cannot change the settings the parser's
 * reading depends on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CountersignError } from '../../../core/errors.ts';
import { analyseSql, deriveSqlFacts, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

function refusal(sql: string): CountersignError {
  try {
    deriveSqlFacts(sql);
  } catch (e) {
    if (e instanceof CountersignError) return e;
    throw e;
  }
  throw new Error(`expected ${sql} to be refused`);
}

describe('functions with effects make a SELECT not read-only', () => {
  it.each([
    ["SELECT lo_from_bytea(0, 'x')", 'pg_catalog.lo_from_bytea'],
    ["SELECT lo_put(16400, 0, 'x')", 'pg_catalog.lo_put'],
    ['SELECT lo_unlink(16400)', 'pg_catalog.lo_unlink'],
    ["SELECT lo_import('/etc/passwd')", 'pg_catalog.lo_import'],
    ["SELECT lo_export(16400, '/tmp/x')", 'pg_catalog.lo_export'],
    ['SELECT lo_creat(-1)', 'pg_catalog.lo_creat'],
    ['SELECT lowrite(0, $1)', 'pg_catalog.lowrite'],
    ['SELECT pg_terminate_backend(pid) FROM pg_stat_activity', 'pg_catalog.pg_terminate_backend'],
    ['SELECT pg_cancel_backend(1)', 'pg_catalog.pg_cancel_backend'],
    ["SELECT pg_notify('jobs', 'run')", 'pg_catalog.pg_notify'],
    ["SELECT pg_create_physical_replication_slot('s')", 'pg_catalog.pg_create_physical_replication_slot'],
    ["SELECT * FROM pg_create_logical_replication_slot('s', 'test_decoding')", 'pg_catalog.pg_create_logical_replication_slot'],
    ["SELECT pg_drop_replication_slot('s')", 'pg_catalog.pg_drop_replication_slot'],
    ['SELECT pg_reload_conf()', 'pg_catalog.pg_reload_conf'],
    ['SELECT pg_rotate_logfile()', 'pg_catalog.pg_rotate_logfile'],
    ['SELECT pg_stat_reset()', 'pg_catalog.pg_stat_reset'],
    ["SELECT pg_stat_reset_shared('bgwriter')", 'pg_catalog.pg_stat_reset_shared'],
    ["SELECT set_config('work_mem', '1GB', false)", 'pg_catalog.set_config'],
    ['SELECT setseed(0.5)', 'pg_catalog.setseed'],
    ['SELECT pg_advisory_lock(1)', 'pg_catalog.pg_advisory_lock'],
    ['SELECT pg_try_advisory_xact_lock(1)', 'pg_catalog.pg_try_advisory_xact_lock'],
    ["SELECT nextval('s')", 'pg_catalog.nextval'],
    ["SELECT setval('s', 1)", 'pg_catalog.setval'],
    ['SELECT txid_current()', 'pg_catalog.txid_current'],
    ['SELECT pg_current_xact_id()', 'pg_catalog.pg_current_xact_id'],
    ["SELECT pg_read_file('/etc/passwd')", 'pg_catalog.pg_read_file'],
    ["SELECT * FROM pg_ls_dir('.')", 'pg_catalog.pg_ls_dir'],
    ['SELECT pg_sleep(600)', 'pg_catalog.pg_sleep'],
    ["SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')", 'pg_catalog.query_to_xml'],
    ["SELECT ts_rewrite('a'::tsquery, 'SELECT 1')", 'pg_catalog.ts_rewrite'],
    ["SELECT dblink_exec('dbname=x', 'DELETE FROM t')", 'pg_catalog.dblink_exec'],
    ["SELECT public.dblink_exec('dbname=x', 'DELETE FROM t')", 'public.dblink_exec'],
    ['SELECT pg_switch_wal()', 'pg_catalog.pg_switch_wal'],
    ['SELECT brin_summarize_new_values(1)', 'pg_catalog.brin_summarize_new_values'],
  ])('%s', (sql, fn) => {
    const f = deriveSqlFacts(sql);
    expect(f.functions).toContain(fn);
    expect(f.readOnly).toBe(false);
    expect(f.writes).toBe(true);
  });

  it.each([
    ['a user-defined function', 'SELECT sneaky()'],
    ['a function of another schema', 'SELECT app.totals()'],
    ['pg_catalog spelled with capitals, which is another schema', 'SELECT "PG_CATALOG".lower(x) FROM t'],
    ['a quoted name that only looks like a built-in', 'SELECT "Lower"(x) FROM t'],
    ['a function in FROM', 'SELECT * FROM lo_unlink(1)'],
    ['a function in a subquery', 'SELECT (SELECT pg_notify($1, $2))'],
    ['a function in a CTE', 'WITH x AS (SELECT pg_reload_conf()) SELECT * FROM x'],
    ['a function in a WHERE', 'SELECT * FROM t WHERE pg_terminate_backend(id)'],
    ['a function in ORDER BY', 'SELECT id FROM t ORDER BY pg_stat_reset()'],
    ['a function in a lateral join', 'SELECT * FROM t, LATERAL (SELECT lo_unlink(t.id)) x'],
    ['a function in a window', 'SELECT sum(x) OVER (ORDER BY nextval($1)) FROM t'],
    ['a function under EXPLAIN (immutable ones run while planning)', 'EXPLAIN SELECT app.f()'],
    ['an operator of another schema', 'SELECT 1 OPERATOR(public.+) 2'],
    ['a cast to a type of another schema (a domain CHECK runs)', 'SELECT 1::public.checked'],
    ['a TABLESAMPLE method of an extension', 'SELECT * FROM t TABLESAMPLE system_rows(10)'],
  ])('%s', (_, sql) => {
    expect(deriveSqlFacts(sql).readOnly).toBe(false);
  });

  it('keeps plain reads with built-ins, casts, operators and sampling read-only', () => {
    const sql = `SELECT lower(name), count(*), now(), extract(year FROM created), trim(note), coalesce(a, 1),
      jsonb_build_object('a', 1), array_agg(id ORDER BY id), row_number() OVER (), x::text, x::int, $1::date,
      CASE WHEN a > 1 THEN 'x' END, a IN (1, 2), a BETWEEN 1 AND 2, created AT TIME ZONE 'UTC', substring(note FROM 2)
      FROM t TABLESAMPLE BERNOULLI (10) WHERE name ILIKE '%a%' GROUP BY 1 ORDER BY 2 USING >`;
    const f = deriveSqlFacts(sql);
    expect(f.readOnly).toBe(true);
    expect(f.functions).toEqual(
      expect.arrayContaining(['pg_catalog.lower', 'pg_catalog.count', 'pg_catalog.extract', 'pg_catalog.btrim', 'pg_catalog.timezone', 'pg_catalog.bernoulli']),
    );
  });

  it('lets a connection allow its own functions by schema-qualified name, and only those', () => {
    const options = { readOnlyFunctions: ['public.report_totals'] };
    expect(deriveSqlFacts('SELECT * FROM public.report_totals($1)', options)).toMatchObject({ readOnly: true, functions: ['public.report_totals'] });
    // Unqualified, the call is named pg_catalog.report_totals: not the allowed function.
    expect(deriveSqlFacts('SELECT report_totals($1)', options).readOnly).toBe(false);
    expect(deriveSqlFacts('SELECT app.report_totals($1)', options).readOnly).toBe(false);
    expect(deriveSqlFacts('SELECT public.report_totals($1)').readOnly).toBe(false);
  });

  it('names quoted identifiers quoted, so they never pose as plain names', () => {
    expect(deriveSqlFacts('SELECT "public.report_totals"()', { readOnlyFunctions: ['public.report_totals'] })).toMatchObject({
      readOnly: false,
      functions: ['pg_catalog."public.report_totals"'],
    });
    expect(deriveSqlFacts('SELECT "App"."F"()').functions).toEqual(['"App"."F"']);
  });
});

describe('the unqualified names the executor checks before a run', () => {
  it('collects functions, operators, types and attribute-notation fields', () => {
    const { names } = analyseSql('SELECT lower(t.name), (t).total, a + b, x::mytype, y::pg_catalog.int4 FROM t WHERE c ~~ $1');
    expect(names).toEqual({
      functions: ['lower'],
      operators: ['+', '<', '<=', '<>', '=', '>', '>=', '~~'],
      types: ['mytype'],
      attributes: ['name', 'total'],
      relations: ['t'],
      credentials: [],
      customSettings: [],
    });
  });
});

describe('settings that may hold a credential, read by name', () => {
  it.each([
    ['SHOW primary_conninfo', ['primary_conninfo']],
    ['SHOW ALL', ['SHOW ALL']],
    ["COPY (SELECT current_setting('Archive_Command')) TO STDOUT", ['archive_command']],
    ["SELECT current_setting('restore_' || 'command'), nextval('s')", ['current_setting() of a computed name']],
    ['COPY (SELECT * FROM pg_catalog.pg_show_all_file_settings()) TO STDOUT', ['pg_catalog.pg_show_all_file_settings']],
    ["COPY (SELECT query_to_xml('SELECT 1', true, true, ''), public.dblink('x', 'y')) TO STDOUT", ['pg_catalog.query_to_xml', 'public.dblink']],
    ['SELECT * FROM pg_read_binary_file($1)', ['pg_catalog.pg_read_binary_file']],
    // Extensions' readers: a relation named as a value, SQL text, pages, the WAL's contents.
    ["SELECT * FROM connectby('secrets', 'k', 'p', 'a', 0) AS t(k text, p text, l int)", ['pg_catalog.connectby']],
    ["SELECT ext.xslt_process('<a/>', '<xsl:stylesheet/>')", ['ext.xslt_process']],
    ["SELECT * FROM pg_logical_slot_peek_changes('cdc', NULL, NULL)", ['pg_catalog.pg_logical_slot_peek_changes']],
    ["SELECT block_data FROM pg_get_wal_block_info('0/0', '0/1')", ['pg_catalog.pg_get_wal_block_info']],
    ["SELECT public.dblink_connect('host=10.0.0.1')", ['public.dblink_connect']],
    ["SHOW TimeZone; SELECT current_setting('DateStyle')", []],
  ])('%s: %j', (sql, credentials) => {
    expect(analyseSql(sql).names.credentials).toEqual(credentials);
  });

  it('a custom setting read by name is listed apart, and leaves a read a read', () => {
    const { facts, names } = analyseSql("SELECT current_setting('App.JWT_Secret'), current_setting('TimeZone')");
    expect(names.customSettings).toEqual(['app.jwt_secret']);
    expect(names.credentials).toEqual([]);
    expect(facts.readOnly).toBe(true);
    expect(analyseSql('SHOW "app.settings.jwt_secret"').names.customSettings).toEqual(['app.settings.jwt_secret']);
    // As the server prints a policy's call: the constant cast to text names the setting as plainly.
    expect(analyseSql("SELECT current_setting('app.tenant'::text, true)").names).toMatchObject({ credentials: [], customSettings: ['app.tenant'] });
    expect(analyseSql("SELECT current_setting('primary_conninfo'::pg_catalog.text)").names.credentials).toEqual(['primary_conninfo']);
    expect(analyseSql("SELECT current_setting('TimeZone'::public.text)").names.credentials).toEqual(['current_setting() of a computed name']);
  });
});

describe('settings the gateway pins cannot be changed by an action', () => {
  it.each([
    'SET standard_conforming_strings = off',
    "SET standard_conforming_strings = off; SELECT 'x\\'' --'",
    'SET LOCAL standard_conforming_strings TO off',
    'SET backslash_quote = on',
    "SET client_encoding = 'SJIS'",
    "SET NAMES 'SJIS'",
    'SET search_path = evil, pg_catalog',
    "SET SCHEMA 'evil'",
    'RESET search_path',
    'SET statement_timeout = 0',
    'SET LOCAL statement_timeout = 0',
    'RESET statement_timeout',
    'SET lock_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
    'SET ROLE admin',
    'RESET ROLE',
    'SET SESSION AUTHORIZATION admin',
    'SET session_replication_role = replica',
    'SET default_transaction_read_only = off',
    'SET TRANSACTION READ WRITE',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
    'RESET ALL',
    'SET app.tenant = 1',
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false)",
    "SELECT set_config('search_path', 'evil', true)",
    "SELECT 1 FROM t WHERE set_config('role', 'admin', false) IS NOT NULL",
    'SELECT set_config($1, $2, false)',
    "SELECT set_config(lower('STATEMENT_TIMEOUT'), '0', false)",
    "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
    "UPDATE pg_catalog.pg_settings SET setting = 'replica' WHERE name = 'session_replication_role'",
    "WITH u AS (UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_encoding' RETURNING 1) SELECT * FROM u",
    "EXPLAIN ANALYZE UPDATE pg_settings SET setting = 'evil' WHERE name = 'search_path'",
  ])('%s', (sql) => {
    expect(refusal(sql).code).toBe('SQL_SETTING_REFUSED');
  });

  it('leaves SET clauses of definitions alone: they do not change this session (and are writes)', () => {
    const sql = `CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SET search_path = pg_catalog AS 'SELECT 1';
      ALTER FUNCTION app.f() SET statement_timeout = 0; ALTER ROLE bot SET standard_conforming_strings = off;
      ALTER DATABASE d SET search_path = app`;
    expect(deriveSqlFacts(sql)).toMatchObject({ readOnly: false, ddl: true });
  });

  it("leaves a table of another schema named pg_settings alone: only the catalog's view calls set_config", () => {
    expect(deriveSqlFacts("UPDATE app.pg_settings SET setting = 'x' WHERE name = 'y'").readOnly).toBe(false);
  });

  it('lets an action change planner, memory and display settings (as a write)', () => {
    expect(deriveSqlFacts("SET work_mem = '64MB'; SET enable_seqscan = off; SET TIME ZONE 'UTC'").readOnly).toBe(false);
    expect(deriveSqlFacts("SELECT set_config('work_mem', '64MB', true)").readOnly).toBe(false);
  });
});
