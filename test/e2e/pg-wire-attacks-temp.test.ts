/**
 * The Postgres wire listener under attack through the session's temporary
 * schema: an agent allowed to make objects there (a function, an operator, a
 * type named like a built-in one) tries to have a read that policy allowed
 * run them instead of what the read names. PostgreSQL finds a relation or a
 * type in the temporary schema before pg_catalog, but never a function or an
 * operator called without a schema there. And a schema that leads the
 * search_path: a table made there would take every session's statements
 * naming the one it hides.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** Reads and inserts allowed; making objects allowed outright (the session's scratch objects, say); the rest denied. */
const POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: reads
      when: facts.sql.readOnly
      effect: allow
    - id: creates
      when: facts.sql.statements.all(s, s.type == "create")
      effect: allow
    - id: inserts
      when: facts.sql.statements.all(s, s.type == "insert")
      effect: allow
`;

describe.skipIf(!db)('the Postgres wire listener under attack: objects of the session\'s temporary schema', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one'); CREATE TABLE notes (id int, note text)`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  const send = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    return c.until('readyForQuery');
  };

  it('a temporary function or operator named like a built-in is never what a read calls: the read runs the built-in, as in PostgreSQL', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of [
        "CREATE FUNCTION pg_temp.upper(text) RETURNS text LANGUAGE sql AS $$ SELECT 'shadowed' $$",
        'CREATE FUNCTION pg_temp.plus(int, int) RETURNS int LANGUAGE sql AS $$ SELECT 42 $$',
        'CREATE OPERATOR pg_temp.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = pg_temp.plus)',
      ]) {
        expect({ sql, codes: errors(await send(c, sql)) }).toEqual({ sql, codes: [] });
      }
      const read = await send(c, "SELECT upper(note) AS u, id + 1 AS n FROM t");
      expect(errors(read)).toEqual([]);
      expect(rowsOf(read)).toEqual([['ONE', '2']]);
      // Named with its schema, it is a call of a function that is not the server's: not a read, denied.
      expect(errors(await send(c, "SELECT pg_temp.upper('x')"))).toEqual(['42501']);
      expect(errors(await send(c, 'SELECT 1 OPERATOR(pg_temp.+) 1'))).toEqual(['42501']);
    } finally {
      c.end();
    }
  });

  it('a temporary type named like a built-in one is found first: a read naming that type runs nothing (its CHECK would run a function)', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of [
        "CREATE FUNCTION pg_temp.noisy(text) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'noisy ran'; RETURN true; END $$",
        'CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (pg_temp.noisy(VALUE))',
      ]) {
        expect({ sql, codes: errors(await send(c, sql)) }).toEqual({ sql, codes: [] });
      }
      const read = await send(c, "SELECT 'x'::text AS v");
      expect(read.filter((m) => m.name === 'notice').map((m) => m.message)).toEqual([]);
      expect(errors(read)).toEqual(['55000']);
      expect(read.find((m) => m.name === 'error')!.message).toMatch(/type pg_temp_\d+\.text is on the search_path/);
    } finally {
      c.end();
    }
  });

  it('a table made in a schema that leads the search_path ("$user") takes no other agent\'s write or read meant for the one it hides', async () => {
    const a = await Raw.open(gw);
    const b = await Raw.open(gw, 'other-bot');
    let user = '';
    try {
      user = String(rowsOf(await send(a, 'SELECT current_user'))[0]![0]);
      for (const sql of [`CREATE SCHEMA "${user}"`, `CREATE TABLE "${user}".notes (id int, note text)`]) {
        expect({ sql, codes: errors(await send(a, sql)) }).toEqual({ sql, codes: [] });
      }
      const write = await send(b, "INSERT INTO notes VALUES (2, 'for public.notes')");
      expect(errors(write)).toEqual(['55000']);
      expect(write.find((m) => m.name === 'error')!.message).toContain(`(${user}.notes and public.notes)`);
      expect(errors(await send(b, 'SELECT count(*) FROM notes'))).toEqual(['55000']);
      // Named with its schema, each is the table it names.
      expect(errors(await send(b, "INSERT INTO public.notes VALUES (3, 'named')"))).toEqual([]);
    } finally {
      a.end();
      b.end();
    }
    expect((await direct.query(`SELECT note FROM "${user}".notes`)).rows).toEqual([]);
    expect((await direct.query('SELECT note FROM public.notes')).rows).toEqual([{ note: 'named' }]);
  });
});
