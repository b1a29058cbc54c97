/**
 * The session check as a wire session runs it: the gateway's prepared statement under the generic plan it forces
 * (wire-own.ts), on a real PostgreSQL. Each of its branches still refuses what it must when its list is not empty,
 * alone and with other names in the statement, while a branch whose list is empty, and the rule trees of relations
 * the statement does not read, are not run at all (the plan's own counts, not its time).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { analyseSql, loadSqlParser } from './facts.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';
import { arrayLiteral, guardParams, refusal, type GuardRow } from './session-guard.ts';
import { OWN, RESERVED_PREFIX } from './wire-own.ts';

const db = await createTestDatabase();

/** A node of EXPLAIN (FORMAT JSON), with the fields read here. */
interface PlanNode {
  'Node Type': string;
  'Function Name'?: string;
  Filter?: string;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

function nodes(n: PlanNode): PlanNode[] {
  return [n, ...(n.Plans ?? []).flatMap(nodes)];
}

describe.skipIf(!db)('the session check under the generic plan (real PostgreSQL)', () => {
  let admin: pg.Client;
  let session: pg.Client;
  const name = `${RESERVED_PREFIX}guard`;

  /** The check's parameters for `sql`, as the wire session sends them (the allow-list: the built-ins). */
  const paramsOf = (sql: string, readOnly: boolean): string[] =>
    guardParams(analyseSql(sql).names, readOnly, readOnly ? new Set(READ_ONLY_FUNCTIONS) : new Set()).map(arrayLiteral);

  /** Runs `body` in the gateway's transaction and savepoint, the plan settings of `plan_generic` in force. */
  async function planned<T>(body: () => Promise<T>, searchPath?: string): Promise<T> {
    await session.query(OWN['begin_ro']!);
    try {
      if (searchPath) await session.query(`SET LOCAL search_path = ${searchPath}`);
      await session.query(OWN['plan_savepoint']!);
      await session.query(OWN['plan_generic']!);
      return await body();
    } finally {
      await session.query(OWN['rollback']!);
    }
  }

  /** Why the check refuses `sql` on the session, or undefined when it passes. */
  const check = (sql: string, readOnly = true, searchPath?: string) =>
    planned(async () => {
      const r = await session.query<{ row_to_json: string }>({ name, text: OWN['guard']!, values: paramsOf(sql, readOnly) });
      const row = JSON.parse(String(Object.values(r.rows[0] ?? {})[0])) as GuardRow;
      return refusal(row, {}, readOnly)?.message;
    }, searchPath);

  /** The check's plan for `sql`, run (EXPLAIN ANALYZE of the prepared statement). */
  const plan = (sql: string) =>
    planned(async () => {
      await session.query({ name, text: OWN['guard']!, values: paramsOf(sql, true) });
      const args = paramsOf(sql, true).map((v) => session.escapeLiteral(v)).join(', ');
      const r = await session.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}(${args})`);
      return nodes(r.rows[0]!['QUERY PLAN'][0].Plan);
    });

  beforeAll(async () => {
    await loadSqlParser();
    admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    await admin.query(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a');
      CREATE FUNCTION public.side() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
      CREATE VIEW public.v AS SELECT public.side() AS s;`);
    session = new pg.Client({ connectionString: db!.url });
    await session.connect();
  });

  afterAll(async () => {
    await session?.end();
    await admin?.end();
    await db?.drop();
  });

  it('passes a plain read, and a write, with nothing of the database in the way', async () => {
    expect(await check('SELECT name FROM items WHERE id = 1')).toBeUndefined();
    expect(await check("SELECT lower(name), count(*) FROM items WHERE id > 0 AND name::text <> 'x' GROUP BY 1")).toBeUndefined();
    expect(await check("UPDATE items SET name = 'b' WHERE id = 1", false)).toBeUndefined();
  });

  // `among`: the same name with functions, operators, types and relations besides, the view over side() among them.
  it.each([
    {
      what: 'a function',
      create: 'CREATE FUNCTION public.lower(int) RETURNS text LANGUAGE sql AS $$ SELECT $1::text $$',
      sql: 'SELECT lower(1)',
      among: "SELECT abs(-1), upper(name), id * 2, s::text, lower(1) FROM items, v WHERE name <> 'x'",
      said: 'function public.lower',
      drop: 'DROP FUNCTION public.lower(int)',
    },
    {
      what: 'an operator',
      create: 'CREATE FUNCTION public.cat(text, text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$; CREATE OPERATOR public.+ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.cat)',
      sql: "SELECT 'a'::text + 'b'::text",
      among: "SELECT abs(-1), upper(name), id * 2, s::text, name::text + 'b'::text FROM items, v WHERE name <> 'x'",
      said: 'operator public.+',
      drop: 'DROP OPERATOR public.+ (text, text); DROP FUNCTION public.cat(text, text)',
    },
    {
      what: 'a type',
      create: "CREATE TYPE public.text AS ENUM ('x')",
      // Found before pg_catalog's only when its schema comes first on the path.
      path: 'public, pg_catalog',
      sql: "SELECT 'x'::text",
      among: "SELECT abs(-1), upper(name), id * 2, s::int8, 'x'::text FROM items, v WHERE name <> 'x'",
      said: 'type public.text',
      drop: 'DROP TYPE public.text',
    },
    {
      what: 'an attribute-notation call',
      create: 'CREATE FUNCTION public.leak(items) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      sql: 'SELECT i.leak FROM items i',
      among: "SELECT abs(-1), upper(name), id * 2, s::text, i.leak FROM items i, v WHERE name <> 'x'",
      said: 'function public.leak',
      drop: 'DROP FUNCTION public.leak(items)',
    },
  ])('refuses $what of another schema the statement names, alone and among other names', async ({ create, path, sql, among, said, drop }) => {
    await admin.query(create);
    try {
      expect(await check(sql, true, path)).toContain(said);
      expect(await check(among, true, path)).toContain(said);
    } finally {
      await admin.query(drop);
    }
  });

  it("refuses a read of a view over a function the agent made, with and without other names in the statement", async () => {
    for (const sql of ['SELECT s FROM v', "SELECT lower(name), s::text, count(*) FROM items JOIN v ON v.s = items.id WHERE name <> 'x' GROUP BY 1, 2"]) {
      expect(await check(sql)).toContain('public.side (through v)');
    }
  });

  it("refuses what reads every setting or another session's SQL through a view of the database's, a read or a write", async () => {
    await admin.query(`CREATE VIEW public.conf AS SELECT name, setting FROM pg_catalog.pg_settings;
      CREATE VIEW public.act AS SELECT pid FROM pg_catalog.pg_stat_activity;`);
    try {
      expect(await check('SELECT name FROM conf')).toContain('pg_show_all_settings');
      expect(await check('INSERT INTO items SELECT 9, name FROM conf', false)).toContain('pg_show_all_settings');
      expect(await check('SELECT pid FROM act')).toContain('pg_catalog.pg_stat_get_activity');
    } finally {
      await admin.query('DROP VIEW public.conf; DROP VIEW public.act');
    }
  });

  it('runs no branch whose list is empty, and searches the rule trees of the relations read only', async () => {
    const loops = (ns: PlanNode[], pick: (n: PlanNode) => boolean) => ns.filter(pick).reduce((sum, n) => sum + n['Actual Loops'], 0);
    const searched = (n: PlanNode) => n['Function Name'] === 'regexp_matches';
    // No function, type or attribute named: the scans of pg_proc and pg_type by those lists ($1, $3, $4) never run.
    const table = await plan('SELECT name FROM items WHERE id = 1');
    const byEmpty = table.filter((n) => n.Filter !== undefined && /\$[134](?!\d)/.test(n.Filter));
    expect(byEmpty.length).toBeGreaterThan(0);
    expect(loops(byEmpty, () => true)).toBe(0);
    // A table has no rule: no tree is searched (the server has a hundred views and more).
    expect(loops(table, searched)).toBe(0);
    // A view: its own tree, a few times (what it reads, what it calls), not every view's.
    const view = await plan('SELECT s FROM v');
    expect(loops(view, searched)).toBeGreaterThan(0);
    expect(loops(view, searched)).toBeLessThan(10);
  });
});
