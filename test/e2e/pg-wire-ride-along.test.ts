/**
 * The Postgres wire listener: what rides along with an Execute. A Parse runs
 * the input of its literals (`'{1}'::d[]` runs domain d's CHECK), and a
 * Describe of a statement a schema change invalidated parses it again; sent
 * alone, each goes in a read-only transaction (pg-wire-hidden-prepare.test.ts).
 * Sent in the same batch as the Execute of another statement, they would go
 * in that statement's flight: for transaction control with no transaction of
 * the gateway's around it, for an approved write in a read-write one. The
 * listener runs nothing of such a batch. Nor of transaction control bound
 * with a parameter: a Bind runs the input of the type its Parse declared.
 * The Bind of an empty statement (whose Execute the listener answers) goes
 * read-only, as a Parse alone does.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!db)('the Postgres wire listener: a Parse or Describe riding along with the Execute of another statement', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    // A domain of the database's whose CHECK writes where it may (a read-only transaction refuses its insert).
    await direct.query(`CREATE TABLE ra_hits (n int);
      CREATE FUNCTION ra_note(int) RETURNS bool LANGUAGE plpgsql AS
        $$BEGIN IF current_setting('transaction_read_only') = 'off' THEN INSERT INTO ra_hits VALUES ($1); END IF; RETURN true; END$$;
      CREATE DOMAIN ra_d AS int CHECK (ra_note(VALUE))`);
    gw = await startTestGateway(ATTACK_POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  const hits = async () => Number((await direct.query('SELECT count(*) AS n FROM ra_hits')).rows[0].n);
  const send = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    return c.until('readyForQuery');
  };

  it('a Parse of another statement, or a second Parse of the bound one, before transaction control: refused (0A000), its CHECK never runs', async () => {
    const c = await Raw.open(gw);
    try {
      for (const batch of [
        [serialize.parse({ name: 'lit', text: "SELECT '{1}'::ra_d[]" }), serialize.parse({ text: 'BEGIN' })],
        [serialize.parse({ text: "SELECT '{2}'::ra_d[]" }), serialize.parse({ text: 'BEGIN' })],
        [serialize.parse({ text: 'BEGIN' }), serialize.bind({}), serialize.parse({ name: 'lit3', text: "SELECT '{3}'::ra_d[]" })],
      ]) {
        const bound = batch.length === 3 ? batch : [...batch, serialize.bind({})];
        c.send(...bound, serialize.execute({}), serialize.sync());
        const got = await c.until('readyForQuery');
        // Whatever the CHECK wrote would be the client's block's, which BEGIN made of the Parse's transaction: committed here.
        const ended = await send(c, 'COMMIT');
        expect(await hits()).toBe(0);
        expect([errors(got), got.at(-1)?.status, ended.at(-1)?.status]).toEqual([['0A000'], 'I', 'I']);
      }
      // Inside the client's block, the block fails as on the statement's own error.
      expect(errors(await send(c, 'BEGIN'))).toEqual([]);
      c.send(serialize.parse({ name: 'lit4', text: "SELECT '{4}'::ra_d[]" }), serialize.parse({ text: 'SAVEPOINT s' }), serialize.bind({}), serialize.execute({}), serialize.sync());
      const inBlock = await c.until('readyForQuery');
      const ended = await send(c, 'COMMIT');
      expect(await hits()).toBe(0);
      expect([errors(inBlock), inBlock.at(-1)?.status, ended.at(-1)?.status]).toEqual([['0A000'], 'E', 'I']);
    } finally {
      c.end();
    }
  });

  it('a Describe of another statement whose plan a schema change invalidated, before transaction control: refused, its CHECK never runs', async () => {
    const c = await Raw.open(gw);
    try {
      // Prepared while the domain has no CHECK (with one, a Parse alone is refused); the CHECK comes back after.
      await direct.query('ALTER DOMAIN ra_d DROP CONSTRAINT ra_d_check');
      c.send(serialize.parse({ name: 'again', text: "SELECT '{7}'::ra_d[]" }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      await direct.query('ALTER DOMAIN ra_d ADD CONSTRAINT ra_d_check CHECK (ra_note(VALUE))');
      expect(await hits()).toBe(0);
      await direct.query('CREATE SCHEMA ra_inval');
      c.send(serialize.describe({ type: 'S', name: 'again' }), serialize.parse({ text: 'BEGIN' }), serialize.bind({}), serialize.execute({}), serialize.sync());
      const got = await c.until('readyForQuery');
      const ended = await send(c, 'COMMIT');
      expect(await hits()).toBe(0);
      expect([errors(got), got.at(-1)?.status, ended.at(-1)?.status]).toEqual([['0A000'], 'I', 'I']);
    } finally {
      c.end();
      await direct.query('DROP SCHEMA IF EXISTS ra_inval');
    }
  });

  it('a parameter bound to transaction control, typed as the domain: refused (55000), its CHECK never runs', async () => {
    const oid = Number((await direct.query("SELECT 'ra_d'::regtype::oid AS oid")).rows[0].oid);
    const c = await Raw.open(gw);
    try {
      for (const sql of ['BEGIN', 'SAVEPOINT s']) {
        c.send(serialize.parse({ text: sql, types: [oid] }), serialize.bind({ values: ['5'] }), serialize.execute({}), serialize.sync());
        const got = await c.until('readyForQuery');
        const ended = await send(c, 'COMMIT');
        expect(await hits()).toBe(0);
        expect([errors(got), ended.at(-1)?.status]).toEqual([['55000'], 'I']);
      }
      // Without one, it runs.
      c.send(serialize.parse({ text: 'BEGIN', types: [] }), serialize.bind({}), serialize.execute({}), serialize.sync());
      expect((await c.until('readyForQuery')).at(-1)?.status).toBe('T');
      expect(errors(await send(c, 'ROLLBACK'))).toEqual([]);
    } finally {
      c.end();
    }
  });

  it('a parameter bound to an empty statement, typed as the domain: its CHECK never runs read-write', async () => {
    const oid = Number((await direct.query("SELECT 'ra_d'::regtype::oid AS oid")).rows[0].oid);
    const c = await Raw.open(gw);
    try {
      // Parsed on its own first, while the domain has no CHECK: the Bind then goes without a Parse of its statement.
      await direct.query('ALTER DOMAIN ra_d DROP CONSTRAINT ra_d_check');
      c.send(serialize.parse({ name: 'e', text: ' ; ', types: [oid] }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      await direct.query('ALTER DOMAIN ra_d ADD CONSTRAINT ra_d_check CHECK (ra_note(VALUE))');
      c.send(serialize.bind({ statement: 'e', values: ['6'] }), serialize.execute({}), serialize.sync());
      // Its parameter's input would run the CHECK: the session check refuses it before it is sent.
      expect(errors(await c.until('readyForQuery'))).toEqual(['55000']);
      const ended = await send(c, 'COMMIT');
      expect(await hits()).toBe(0);
      expect(ended.at(-1)?.status).toBe('I');
    } finally {
      c.end();
    }
  });

  it('what drivers send still runs: Parse, Describe and Bind of the statement executed, in a batch of several statements', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(
        serialize.parse({ name: 'a', text: 'BEGIN' }),
        serialize.describe({ type: 'S', name: 'a' }),
        serialize.bind({ statement: 'a' }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.close({ type: 'S', name: 'a' }),
        serialize.parse({ text: 'SAVEPOINT s' }),
        serialize.bind({}),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.bind({ portal: 'p' }),
        serialize.describe({ type: 'S' }),
        serialize.execute({ portal: 'p' }),
        serialize.sync(),
      );
      const got = await c.until('readyForQuery');
      expect([errors(got), got.filter((m) => m.name === 'commandComplete').map((m) => m.text), got.at(-1)?.status]).toEqual([[], ['BEGIN', 'SAVEPOINT', 'SAVEPOINT'], 'T']);
      expect(errors(await send(c, 'ROLLBACK'))).toEqual([]);
    } finally {
      c.end();
    }
  });
});
