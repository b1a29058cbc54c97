/**
 * Property: a statement calling any function outside the allow-list is not
 * read-only, wherever the call sits; one calling only allow-listed functions
 * stays read-only. The functions are every name in the real server's
 * pg_proc (catalog, information_schema, extensions), schema-qualified or not,
 * plus made-up user-defined names.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { CountersignError } from '../../../core/errors.ts';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';
import { qualifiedName } from './invocations.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';

const db = await createTestDatabase();

interface Fn {
  schema: string;
  name: string;
}

/** Places a call can sit in a statement Postgres would run as a read. */
const PLACES: readonly ((call: string) => string)[] = [
  (c) => `SELECT ${c}`,
  (c) => `SELECT * FROM t WHERE ${c} IS NOT NULL`,
  (c) => `SELECT * FROM ${c}`,
  (c) => `SELECT (SELECT ${c})`,
  (c) => `WITH x AS (SELECT ${c}) SELECT * FROM x`,
  (c) => `SELECT id FROM t ORDER BY ${c}`,
  (c) => `SELECT * FROM t, LATERAL (SELECT ${c}) s`,
  (c) => `SELECT lower(${c}::text)`,
  (c) => `EXPLAIN SELECT ${c}`,
  (c) => `SELECT CASE WHEN id > 1 THEN ${c} END FROM t`,
  (c) => `SELECT count(*) FILTER (WHERE ${c}) FROM t`,
  (c) => `VALUES (${c})`,
  (c) => `SELECT 1 UNION SELECT ${c}`,
  (c) => `SELECT * FROM t WHERE id IN (SELECT ${c})`,
];

/** Quoted (a quoted lower-case name is the plain one) or, when plain, maybe bare. */
function ident(s: string, bare: boolean): string {
  return bare && /^[a-z_][a-z0-9_]*$/.test(s) ? s : `"${s.replaceAll('"', '""')}"`;
}

/** Whether SQL parses at all: a bare keyword (`current_user()`, `select()`) does not, and is not what this property is about. */
function parses(sql: string): boolean {
  try {
    deriveSqlFacts(sql);
    return true;
  } catch (e) {
    return !(e instanceof CountersignError && e.code === 'INPUT_UNPARSEABLE');
  }
}

describe.skipIf(!db)('read-only facts over the server’s functions (property)', () => {
  let functions: Fn[] = [];
  let catalogTypes = new Set<string>();

  beforeAll(async () => {
    await loadSqlParser();
    const client = new pg.Client({ connectionString: db?.url });
    await client.connect();
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS dblink').catch(() => {});
      const { rows } = await client.query<Fn>(
        'SELECT DISTINCT n.nspname AS schema, p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace ORDER BY 1, 2',
      );
      functions = rows;
      const types = await client.query<{ name: string }>("SELECT typname AS name FROM pg_type WHERE typnamespace = 'pg_catalog'::regnamespace");
      catalogTypes = new Set(types.rows.map((r) => `pg_catalog.${r.name}`));
    } finally {
      await client.end();
    }
  });

  afterAll(async () => {
    await db?.drop();
  });

  const userName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);

  it('knows the server has the functions the report names', () => {
    const names = new Set(functions.map((f) => `${f.schema}.${f.name}`));
    for (const n of ['pg_catalog.lo_from_bytea', 'pg_catalog.pg_terminate_backend', 'pg_catalog.pg_notify', 'public.dblink_exec']) {
      expect(names).toContain(n);
    }
    expect(functions.length).toBeGreaterThan(2000);
  });

  it('any call outside the allow-list makes the statement a write; allowed calls alone keep it a read', () => {
    const call = fc.oneof(
      // A function of the server, qualified as it lives or written bare.
      fc.record({ fn: fc.constantFrom(...functions), qualified: fc.boolean(), bare: fc.boolean() }).map(({ fn, qualified, bare }) => ({
        text: qualified ? `${ident(fn.schema, bare)}.${ident(fn.name, bare)}()` : `${ident(fn.name, bare)}()`,
        named: qualifiedName(qualified ? [fn.schema, fn.name] : [fn.name]),
      })),
      // A user-defined or unknown function, in a schema of its own or bare.
      fc.record({ schema: fc.option(userName, { nil: undefined }), name: userName, bare: fc.boolean() }).map(({ schema, name, bare }) => ({
        text: schema ? `${ident(schema, bare)}.${ident(name, bare)}()` : `${ident(name, bare)}()`,
        named: qualifiedName(schema ? [schema, name] : [name]),
      })),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ call, place: fc.constantFrom(...PLACES) }), { minLength: 1, maxLength: 3 }), (parts) => {
        const sql = parts.map(({ call: c, place }) => place(c.text)).join('; ');
        const named = parts.map((p) => p.call.named);
        fc.pre(parses(sql));
        if (named.includes('pg_catalog.set_config')) {
          // Stronger than a write: set_config without a constant setting name is refused outright.
          expect(() => deriveSqlFacts(sql)).toThrow(expect.objectContaining({ code: 'SQL_SETTING_REFUSED' }));
          return;
        }
        const facts = deriveSqlFacts(sql);
        expect(facts.functions).toEqual(expect.arrayContaining(named));
        // current_setting() with no constant name may read any setting, a credential among them: never a read.
        const allAllowed = named.every((n) => READ_ONLY_FUNCTIONS.has(n) && n !== 'pg_catalog.current_setting');
        expect(facts.readOnly).toBe(allAllowed);
      }),
      { numRuns: 1000 },
    );
  });

  it('lists only functions pg_catalog has, on this server or a newer major (no typo allows a user function)', () => {
    const catalog = new Set(functions.filter((f) => f.schema === 'pg_catalog').map((f) => `pg_catalog.${f.name}`));
    const missing = [...READ_ONLY_FUNCTIONS].filter((n) => !catalog.has(n));
    // Added in PostgreSQL 16 and 17; a type's name called like a function (`inet(x)`) is a cast.
    const newer = new Set(['any_value', 'random_normal', 'erf', 'erfc', 'crc32', 'crc32c', 'array_sample', 'array_shuffle', 'date_add', 'date_subtract',
      'json_scalar', 'json_serialize', 'to_regtypemod', 'json_agg_strict', 'json_object_agg_strict', 'json_object_agg_unique',
      'json_object_agg_unique_strict', 'jsonb_agg_strict', 'jsonb_object_agg_strict', 'jsonb_object_agg_unique', 'jsonb_object_agg_unique_strict',
    ].map((n) => `pg_catalog.${n}`));
    expect(missing.filter((n) => !newer.has(n) && !catalogTypes.has(n))).toEqual([]);
  });

  it('never lets a bare name that exists only outside pg_catalog count as the built-in', () => {
    const catalog = new Set(functions.filter((f) => f.schema === 'pg_catalog').map((f) => f.name));
    const foreign = functions.filter((f) => f.schema !== 'pg_catalog' && !catalog.has(f.name));
    expect(foreign.length).toBeGreaterThan(0);
    for (const f of foreign) expect(READ_ONLY_FUNCTIONS.has(`pg_catalog.${f.name}`)).toBe(false);
  });
});
