/**
 * The Postgres wire listener: a Parse (or Describe) sent with no Execute goes
 * upstream in a read-only transaction, and still runs the input of its
 * literals: `'{1}'::d[]` runs domain d's CHECK, whatever function that calls.
 * A read-only transaction stops a write to a table, not what acts outside it:
 * a session advisory lock (kept on the upstream connection, which goes back to
 * the pool), COPY … TO PROGRAM, dblink, pg_terminate_backend. Such a Parse of
 * a write held for approval (or of one policy denies) ran that code before
 * anyone approved anything; it is now held to the check a read is: while a
 * domain CHECK of the database calls a function off the allow-list, it is
 * refused and nothing of it goes upstream.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { requests } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('the Postgres wire listener: a Parse alone runs no code that acts outside its read-only transaction', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  /** The advisory lock key the domain's CHECK takes: unique to this file's database. */
  const key = 7_300_000 + Math.floor(Math.random() * 100_000);

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    // As an agent's earlier, allowed DDL could have left it: a domain whose CHECK takes a session advisory lock.
    await direct.query(`CREATE TABLE pe_items (id int PRIMARY KEY, tags int[]);
      INSERT INTO pe_items VALUES (1, '{}');
      CREATE FUNCTION pe_lock(int) RETURNS bool LANGUAGE plpgsql AS $$BEGIN PERFORM pg_advisory_lock(${key}); RETURN true; END$$;
      CREATE DOMAIN pe_d AS int CHECK (pe_lock(VALUE))`);
    gw = await startTestGateway(ATTACK_POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  /** Sessions holding the advisory lock, on this database. */
  const holders = async () =>
    Number((await direct.query(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, [key])).rows[0].n);

  it('a Parse and Describe of a held UPDATE with a literal of the domain, outside a block and in one: refused, the CHECK never runs', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ name: 'w', text: "UPDATE pe_items SET tags = '{1}'::pe_d[] WHERE id = 1" }), serialize.describe({ type: 'S', name: 'w' }), serialize.sync());
      const outside = await c.until('readyForQuery');
      expect(await holders()).toBe(0);
      expect([errors(outside), outside.at(-1)?.status]).toEqual([['55000'], 'I']);
      // Nothing is prepared under the name: a Bind of it is refused by the gateway.
      c.send(serialize.bind({ statement: 'w' }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['26000']);

      c.send(serialize.query('BEGIN'));
      await c.until('readyForQuery');
      c.send(serialize.parse({ name: 'w2', text: "UPDATE pe_items SET tags = '{2}'::pe_d[] WHERE id = 1" }), serialize.flush());
      c.send(serialize.sync());
      const inside = await c.until('readyForQuery');
      expect(await holders()).toBe(0);
      // As a Parse's own error would, it fails the client's block.
      expect([errors(inside), inside.at(-1)?.status]).toEqual([['55000'], 'E']);
      c.send(serialize.query('ROLLBACK'));
      await c.until('readyForQuery');
      expect(await requests(gw, 'pending')).toEqual([]);
    } finally {
      c.end();
    }
  });

  it('once no domain CHECK calls a function off the allow-list, a Parse alone is prepared and runs later as judged, and so does a read', async () => {
    // A CHECK of built-ins only: the domain's own type, which its CHECK depends on, is no reason to refuse.
    await direct.query('ALTER DOMAIN pe_d DROP CONSTRAINT pe_d_check; ALTER DOMAIN pe_d ADD CONSTRAINT pe_d_check CHECK (VALUE > 0)');
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('SELECT count(*) FROM pe_items'));
      const read = await c.until('readyForQuery');
      expect([errors(read), rowsOf(read)]).toEqual([[], [['1']]]);
      c.send(serialize.parse({ name: 'r', text: "SELECT count(*) FROM pe_items" }), serialize.describe({ type: 'S', name: 'r' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      c.send(serialize.bind({ statement: 'r' }), serialize.execute({}), serialize.sync());
      const ran = await c.until('readyForQuery');
      expect(errors(ran)).toEqual([]);
      expect(rowsOf(ran)).toEqual([['1']]);
    } finally {
      c.end();
    }
  });

  it('in a REPEATABLE READ block, whose snapshot hides a CHECK added since from the check: refused, the CHECK never runs', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('BEGIN ISOLATION LEVEL REPEATABLE READ'));
      await c.until('readyForQuery');
      c.send(serialize.parse({ name: 'a', text: 'SELECT count(*) FROM pe_items' }), serialize.sync());
      const first = await c.until('readyForQuery');
      // Made by another session after the block's snapshot was taken (the first check above took it, if it ran).
      await direct.query('ALTER DOMAIN pe_d DROP CONSTRAINT pe_d_check; ALTER DOMAIN pe_d ADD CONSTRAINT pe_d_check CHECK (pe_lock(VALUE))');
      c.send(serialize.parse({ name: 'b', text: "UPDATE pe_items SET tags = '{3}'::pe_d[] WHERE id = 1" }), serialize.sync());
      const second = await c.until('readyForQuery');
      expect(await holders()).toBe(0);
      // The first is refused (the check would be blind to what changes after it), which fails the block.
      expect([errors(first), errors(second)]).toEqual([['55000'], ['25P02']]);
      c.send(serialize.query('ROLLBACK'));
      await c.until('readyForQuery');
    } finally {
      c.end();
    }
  });
});
