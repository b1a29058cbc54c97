import { beforeAll, describe, expect, it } from 'vitest';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const types = (sql: string) => deriveSqlFacts(sql).statements.map((s) => s.type);

describe('statements that change an object the session check trusts as the server\'s are of type catalog', () => {
  it('changes in place of an object found by name: in a server schema, or without a schema (pg_catalog is searched first)', () => {
    for (const sql of [
      'ALTER FUNCTION pg_catalog.pg_read_file(text) RENAME TO sha256',
      'ALTER FUNCTION pg_read_file(text) RENAME TO sha256',
      'ALTER ROUTINE pg_terminate_backend RENAME TO abs',
      'ALTER AGGREGATE max(int4) RENAME TO min2',
      'ALTER FUNCTION upper(text) SECURITY DEFINER',
      'ALTER FUNCTION pg_catalog.pg_terminate_backend(integer, bigint) SET SCHEMA public',
      'ALTER FUNCTION public.f(int) SET SCHEMA pg_catalog',
      'ALTER DOMAIN information_schema.cardinal_number ADD CHECK (true)',
      'ALTER DOMAIN information_schema.cardinal_number RENAME CONSTRAINT c TO d',
      'ALTER TYPE int4 SET (SEND = int4send)',
      'ALTER TYPE pg_catalog.int4 RENAME TO x',
      'ALTER OPERATOR + (int4, int4) SET (RESTRICT = eqsel)',
      'ALTER OPERATOR FAMILY integer_ops USING btree ADD FUNCTION 1 public.f(int4, int4)',
      'CREATE OPERATOR CLASS public.c FOR TYPE int4 USING btree FAMILY pg_catalog.integer_ops AS FUNCTION 1 public.f(int4, int4)',
      'ALTER TEXT SEARCH CONFIGURATION english ALTER MAPPING FOR word WITH public.d',
      'ALTER TABLE information_schema.sql_features ADD CHECK (true)',
      'ALTER VIEW information_schema.columns RENAME TO c2',
      'ALTER SCHEMA pg_catalog RENAME TO x',
      'CREATE CAST (text AS oid) WITH FUNCTION lo_import(text)',
      'CREATE CAST (text AS oid) WITH FUNCTION pg_catalog.lo_import(text) AS IMPLICIT',
    ]) {
      expect(types(sql), sql).toContain('catalog');
    }
  });

  it('leaves what names the agent\'s own objects, or makes them, as it was', () => {
    for (const sql of [
      'ALTER FUNCTION public.f(int) RENAME TO g',
      'ALTER TYPE public.mood ADD VALUE \'x\'',
      'ALTER TABLE t RENAME TO u',
      'ALTER TABLE public.t ADD CHECK (true)',
      'ALTER VIEW v RENAME COLUMN a TO b',
      'CREATE FUNCTION upper(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE CAST (public.mood AS text) WITH FUNCTION public.mood_text(public.mood)',
      'CREATE CAST (public.mood AS text) WITH INOUT',
      'CREATE OPERATOR CLASS public.c FOR TYPE int4 USING btree AS FUNCTION 1 public.f(int4, int4)',
      'ALTER LANGUAGE plpgsql RENAME TO p',
      'ALTER EXTENSION citext SET SCHEMA public',
    ]) {
      expect(types(sql), sql).not.toContain('catalog');
    }
  });

  it("makes, replaces, renames or moves a function under a name the connection's readOnlyFunctions trusts: read_only_function, any overload, any schema", () => {
    const trusted = { readOnlyFunctions: ['public.report_totals', 'app."Totals"'] };
    const of = (sql: string) => deriveSqlFacts(sql, trusted).statements.map((s) => s.type);
    for (const sql of [
      'CREATE FUNCTION public.report_totals(n int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE OR REPLACE FUNCTION report_totals() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE FUNCTION app."Totals"() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE AGGREGATE public.report_totals(int) (sfunc = int4pl, stype = int4)',
      'ALTER FUNCTION public.report_totals() SET search_path = public',
      'ALTER FUNCTION public.mine(int) RENAME TO report_totals',
      'ALTER ROUTINE x.report_totals SET SCHEMA public',
      'CREATE FUNCTION early.report_totals() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'ALTER FUNCTION public.report_totals() OWNER TO someone',
    ]) {
      expect(of(sql), sql).toContain('read_only_function');
      expect(of(sql), sql).not.toContain('catalog');
      expect(types(sql), sql).not.toContain('read_only_function');
    }
    for (const sql of ['CREATE FUNCTION public.totals() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'CREATE FUNCTION app.totals() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'ALTER TABLE public.t RENAME TO report_totals']) {
      expect(of(sql), sql).not.toContain('read_only_function');
    }
  });

  it('lists CREATE OR REPLACE of a function, procedure or aggregate as a replace too, a plain CREATE as before', () => {
    for (const sql of [
      'CREATE OR REPLACE FUNCTION public.citext_eq(citext, citext) RETURNS bool LANGUAGE sql AS $$ SELECT true $$',
      'CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE OR REPLACE AGGREGATE public.agg(int4) (sfunc = int4pl, stype = int4)',
    ]) {
      expect(types(sql), sql).toEqual(['create', 'replace']);
    }
    for (const sql of ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'CREATE OR REPLACE VIEW v AS SELECT 1 AS one']) {
      expect(types(sql), sql).toEqual(['create']);
    }
  });
});
