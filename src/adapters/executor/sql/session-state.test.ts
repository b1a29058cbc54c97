/**
 * The session state a held wire statement records (session-state.ts), on a
 * real PostgreSQL session: each thing it says it covers changes the digest,
 * and what only steers the planner does not.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { SESSION_STATE_SQL, stateDigest } from './session-state.ts';

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
});
