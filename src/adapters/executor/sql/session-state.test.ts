/**
 * The session state a held wire statement records (session-state.ts), on a
 * real PostgreSQL session: each thing it says it covers changes the digest,
 * and what only steers the planner does not; and what of it reviewers are
 * shown (what differs from a new session's).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { SESSION_READ_SQL, SESSION_SHOWN_SQL, SESSION_STATE_SQL, SHOWN_OBJECTS_MAX, shownLines, stateDigest } from './session-state.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('the session state of a wire session (real PostgreSQL)', () => {
  let c: pg.Client;
  const state = async () => stateDigest((await c.query<{ s: string }>(`SELECT (${SESSION_STATE_SQL}) AS s`)).rows[0]!.s);

  beforeAll(async () => {
    c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    await c.query('CREATE TABLE orders (id int); CREATE ROLE cs_session_state_r; GRANT cs_session_state_r TO CURRENT_USER');
  });

  afterAll(async () => {
    await c?.query('DROP OWNED BY cs_session_state_r; DROP ROLE cs_session_state_r').catch(() => undefined);
    await c?.end();
    await db?.drop();
  });

  /** `change` moves the digest; `undo` brings it back to what it was. */
  const moves = async (change: string, undo?: string) => {
    const before = await state();
    await c.query(change);
    const after = await state();
    expect(after, change).not.toBe(before);
    if (undo !== undefined) {
      await c.query(undo);
      expect(await state(), undo).toBe(before);
    }
  };

  it('the same session, nothing changed: the same digest', async () => {
    expect(await state()).toBe(await state());
  });

  it('who runs it, where names resolve, and the settings that change what literals mean', async () => {
    await moves('SET ROLE cs_session_state_r', 'RESET ROLE');
    await moves('SET search_path = pg_temp, public', 'RESET search_path');
    await moves("SET DateStyle = 'ISO, DMY'", 'RESET DateStyle');
    await moves("SET TimeZone = 'Etc/GMT+12'", 'RESET TimeZone');
    await moves("SET IntervalStyle = 'sql_standard'", 'RESET IntervalStyle');
    await moves("SET bytea_output = 'escape'", 'RESET bytea_output');
    await moves("SET application_name = 'other'", 'RESET application_name');
  });

  it('not what only steers the planner, memory, messages or time bounds, nor the transaction it is read in', async () => {
    const before = await state();
    await c.query("SET work_mem = '64MB'; SET enable_seqscan = off; SET random_page_cost = 1; SET jit = off; SET lc_messages = 'C'");
    // Time bounds: the connection's statementTimeoutMs, or a role's lock_timeout, may change between a hold and its resume.
    await c.query("SET statement_timeout = '7s'; SET lock_timeout = '3s'; SET idle_in_transaction_session_timeout = '1min'");
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    expect(await state()).toBe(before);
    await c.query('ROLLBACK; RESET ALL');
  });

  it("a library loaded (PL/pgSQL, by a DO block) adds its settings at their defaults: the same digest; one changed moves it", async () => {
    // A session of its own: the trigger functions of other cases load PL/pgSQL into this one's.
    const other = new pg.Client({ connectionString: db!.url });
    await other.connect();
    try {
      const read = async () => stateDigest((await other.query<{ s: string }>(`SELECT (${SESSION_STATE_SQL}) AS s`)).rows[0]!.s);
      const loaded = async () => (await other.query("SELECT count(*)::int AS n FROM pg_catalog.pg_settings WHERE name LIKE 'plpgsql.%'")).rows[0].n as number;
      expect(await loaded()).toBe(0);
      const before = await read();
      await other.query('DO $$BEGIN END$$');
      expect(await loaded()).toBeGreaterThan(0);
      expect(await read()).toBe(before);
      await other.query("SET plpgsql.variable_conflict = 'use_column'");
      expect(await read()).not.toBe(before);
      await other.query('RESET plpgsql.variable_conflict');
      expect(await read()).toBe(before);
    } finally {
      await other.end();
    }
  });

  it('temporary objects: made, changed in place (same oid) or dropped; another of the same name is another object', async () => {
    await moves('CREATE TEMP TABLE orders (id int)');
    await moves('ALTER TABLE pg_temp.orders ADD COLUMN note text DEFAULT pg_catalog.now()::text');
    await moves(`CREATE FUNCTION pg_temp.t() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
      CREATE TRIGGER tr BEFORE INSERT ON pg_temp.orders FOR EACH ROW EXECUTE FUNCTION pg_temp.t()`);
    await moves("CREATE OR REPLACE FUNCTION pg_temp.t() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.id := 0; RETURN NEW; END$$");
    await moves('CREATE TEMP VIEW v AS SELECT 1 AS x');
    await moves('CREATE OR REPLACE TEMP VIEW v AS SELECT 2 AS x');
    await moves('DROP VIEW v; DROP TABLE pg_temp.orders CASCADE; DROP FUNCTION pg_temp.t()');
    // Everything dropped again; the temporary schema stays on the path, as the server keeps it for the session.
    const empty = await state();
    await c.query('CREATE TEMP TABLE orders (id int); DROP TABLE pg_temp.orders');
    expect(await state()).toBe(empty);
    await moves('CREATE TEMP TABLE orders (id int)', 'DISCARD TEMP');
  });

  it('open cursors', async () => {
    await c.query('BEGIN');
    await moves('DECLARE cur CURSOR FOR SELECT 1', 'CLOSE cur');
    await c.query('ROLLBACK');
  });

  const shown = async () => shownLines((await c.query<{ s: string }>(`SELECT (${SESSION_SHOWN_SQL}) AS s`)).rows[0]!.s);

  it('shown: nothing for a session as it started; each changed setting with its default, the likeliest to mislead first', async () => {
    expect(await shown()).toEqual({ settings: [], objects: [] });
    const reset = (await c.query<{ d: string; t: string }>("SELECT current_setting('DateStyle') AS d, current_setting('TimeZone') AS t")).rows[0]!;
    await c.query("SET application_name = 'x'; SET TimeZone = 'Etc/GMT+12'; SET DateStyle = 'ISO, DMY'; SET work_mem = '64MB'");
    expect((await shown()).settings).toEqual([
      `DateStyle = "ISO, DMY" (default ${JSON.stringify(reset.d)})`,
      `TimeZone = "Etc/GMT+12" (default ${JSON.stringify(reset.t)})`,
      'application_name = "x" (default "")',
    ]);
    await c.query('RESET ALL');
    // An extension's setting (a name with a dot) may hold a secret, as a custom one may: named, never its value.
    await c.query("DO $$BEGIN END$$; SET plpgsql.variable_conflict = 'use_column'");
    expect((await shown()).settings).toEqual(['plpgsql.variable_conflict changed (a custom setting: its value is not shown)']);
    await c.query('RESET plpgsql.variable_conflict');
    // SET LOCAL in a block: what the block's next statement reads.
    await c.query("BEGIN; SET LOCAL IntervalStyle = 'sql_standard'");
    expect((await shown()).settings).toEqual(['IntervalStyle = "sql_standard" (default "postgres")']);
    await c.query('ROLLBACK');
    await c.query('SET ROLE cs_session_state_r');
    expect((await shown()).settings[0]).toMatch(/^current_user = "cs_session_state_r" \(default "[^"]+"\)$/);
    await c.query('RESET ROLE');
    expect(await shown()).toEqual({ settings: [], objects: [] });
  });

  it('shown: temporary objects a statement may name and open cursors, not the row and array types that come with them; bounded', async () => {
    await c.query(`CREATE TEMP TABLE orders (id serial); CREATE TEMP VIEW v AS SELECT 1 AS x;
      CREATE FUNCTION pg_temp.f(a int, b text) RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE DOMAIN pg_temp.d AS int;
      CREATE TEMP TABLE "a b" (x int); CREATE TEMP TABLE "public.orders" (x int); BEGIN; DECLARE cur CURSOR FOR SELECT 1`);
    expect((await shown()).objects).toEqual([
      // First: it hides the real orders.
      'temporary table orders',
      'temporary table "a b"',
      'temporary sequence orders_id_seq',
      'temporary table "public.orders"',
      'temporary view v',
      'temporary type d',
      'temporary function f(a integer, b text)',
      'open cursor cur',
    ]);
    await c.query('ROLLBACK; DISCARD TEMP');
    await c.query(`DO $$BEGIN FOR i IN 1..${SHOWN_OBJECTS_MAX + 5} LOOP EXECUTE format('CREATE TEMP TABLE t%s (x int)', i); END LOOP; END$$`);
    const many = (await shown()).objects;
    expect(many).toHaveLength(SHOWN_OBJECTS_MAX + 1);
    expect(many.at(-1)).toBe('… and 5 more temporary objects or cursors');
    // What the wire session reads, both in one query: the same state, and the same lines.
    const both = (await c.query({ text: SESSION_READ_SQL, rowMode: 'array' })).rows[0] as [string, string];
    expect(stateDigest(both[0])).toBe(await state());
    expect(shownLines(both[1])).toEqual({ settings: [], objects: many });
    await c.query('DISCARD TEMP');
  });

  it('shown: a temporary object that hides a real one of its name comes first, however many others it hides among', async () => {
    // 50 decoys named before it pushed a temporary orders, which every statement naming orders then reads, off the list.
    await c.query(`DO $$BEGIN FOR i IN 1..${SHOWN_OBJECTS_MAX} LOOP EXECUTE format('CREATE TEMP TABLE a%s (x int)', i); END LOOP; END$$`);
    await c.query('CREATE TEMP TABLE orders (id int)');
    const objects = (await shown()).objects;
    expect(objects[0]).toBe('temporary table orders');
    expect(objects.at(-1)).toBe('… and 1 more temporary objects or cursors');
    await c.query('DISCARD TEMP');
  });
});

describe('what reviewers are shown of a session, whatever its values hold', () => {
  it('every value quoted and in printable ASCII: no new line, bidi override or look-alike letter passes as it is; long values cut', () => {
    const json = JSON.stringify([[['TimeZone', 'UTC"\n) DELETE', 'UTC'], ['lc_time', 'de_\u202eDE', 'C'], ['application_name', 'x'.repeat(500), '']], null, [['temporary table', 'оrders\u2028x']], 1]);
    const { settings, objects } = shownLines(json);
    expect(settings).toEqual(['TimeZone = "UTC\\"\\u{a}) DELETE" (default "UTC")', 'lc_time = "de_\\u{202e}DE" (default "C")', `application_name = "${'x'.repeat(200)}"… (default "")`]);
    expect(objects).toEqual(['temporary table "\\u{43e}rders\\u{2028}x"']);
    for (const l of [...settings, ...objects]) expect(l).toMatch(/^[\x20-\x7e…]+$/);
  });
});
