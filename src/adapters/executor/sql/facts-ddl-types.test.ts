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
    ]) {
      expect(deriveSqlFacts(sql).statements.map((s) => s.type), sql).toContain('catalog');
    }
    for (const sql of ["CREATE FUNCTION public.f(pg_catalog.int4) RETURNS pg_catalog.text LANGUAGE sql AS $$ SELECT 'x' $$", 'CREATE TABLE t (x pg_catalog.int4)', 'CREATE VIEW v AS SELECT pg_catalog.upper(relname) FROM pg_catalog.pg_class']) {
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
    expect(deriveSqlFacts('ALTER DATABASE app CONNECTION LIMIT 5').statements.map((s) => s.type)).toEqual(['alter']);
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
    expect(deriveSqlFacts('DROP EXTENSION citext').statements.map((s) => s.type)).toEqual(['drop']);
  });

  it('lists CREATE and ALTER EVENT TRIGGER as event_trigger, not a create or an alter', () => {
    for (const sql of ['CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION public.et()', 'ALTER EVENT TRIGGER et ENABLE ALWAYS']) {
      const f = deriveSqlFacts(sql);
      expect(f.statements.map((s) => s.type), sql).toEqual(['event_trigger']);
      expect(f.ddl).toBe(true);
    }
  });
});
