/**
 * The Postgres wire listener: prepared statements changed where the listener
 * cannot see it. SQL that runs SQL of its own (a DO block, a function, a
 * trigger) can DEALLOCATE and PREPARE on the session it runs in: a name a
 * client prepared over the protocol, or one of the gateway's own. The name
 * then holds another statement than the one the gateway judged; after such a
 * statement, the listener checks the names before it uses one again. And a
 * Parse on its own, which runs the input of its literals, runs read-only.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw, rowsOf, type Msg } from '../support/pg-raw.ts';
import { requests } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** ATTACK_POLICY, and: DO blocks held like UPDATE. */
const POLICY = ATTACK_POLICY.replace(
  'rules:\n',
  'rules:\n    - id: do-blocks\n      when: facts.sql.statements.all(s, s.type == "do")\n      effect: approve\n      approvers: [{ groups: [sre], count: 1 }]\n',
);

describe.skipIf(!db)('the Postgres wire listener: a prepared statement changed behind it is not run as what it was judged', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    // alice reviews, and reads the audit trail (auditor).
    const principals = DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p));
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }', principals });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  const fresh = async (table: string) => {
    await direct.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int); INSERT INTO ${table} VALUES (1), (2), (3)`);
  };
  const count = async (table: string) => Number((await direct.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  const send = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    return c.until('readyForQuery');
  };
  /** Sends a statement held for approval, approves it, and sends it again: it runs. */
  const approved = async (c: Raw, sql: string) => {
    const held = await send(c, sql);
    const id = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')?.message ?? '')?.[1];
    expect(id, JSON.stringify(held.map((m) => m.message ?? m.name))).toBeDefined();
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    const ran = await send(c, sql);
    expect(errors(ran)).toEqual([]);
  };
  /** The messages up to the next ReadyForQuery, or what arrived before the connection closed. */
  const answer = async (c: Raw): Promise<Msg[] | 'closed'> => c.until('readyForQuery').catch(() => 'closed' as const);
  /** The statement's request ended failed, saying why nothing ran. */
  const refusedAsChanged = async (sql: string) => {
    const failed = await eventually(async () => (await requests(gw, 'failed')).find((q) => q.action.input.sql === sql));
    const detail = (await gw.as('alice', `/v1/requests/${failed.id}`)).body as { error?: { message?: string } };
    expect(detail.error?.message).toMatch(/no longer holds what the gateway judged it by.*nothing ran/);
  };

  /** One statement over the extended protocol, unnamed. */
  const extended = async (c: Raw, sql: string) => {
    c.send(serialize.parse({ text: sql }), serialize.bind({}), serialize.execute({}), serialize.sync());
    return c.until('readyForQuery');
  };

  it("a client's named BEGIN, prepared again by a DO block as a DELETE, is not run as the transaction control it was judged as", async () => {
    await fresh('hp_orders');
    const c = await Raw.open(gw);
    // As pgbench -M prepared and drivers do: BEGIN prepared once under a name, bound again for each transaction.
    c.send(serialize.parse({ name: 'tx', text: 'BEGIN' }), serialize.bind({ statement: 'tx' }), serialize.execute({}), serialize.sync());
    expect(errors(await c.until('readyForQuery'))).toEqual([]);
    expect(errors(await send(c, 'COMMIT'))).toEqual([]);
    // After a statement that could have prepared it again and did not, the name is checked and still runs as it was.
    await approved(c, 'DO $$BEGIN PERFORM 1; END$$');
    c.send(serialize.bind({ statement: 'tx' }), serialize.execute({}), serialize.sync());
    const ok = await c.until('readyForQuery');
    expect([errors(ok), ok.at(-1)?.status]).toEqual([[], 'T']);
    expect(errors(await send(c, 'COMMIT'))).toEqual([]);
    await approved(c, `DO $$BEGIN EXECUTE 'DEALLOCATE tx'; EXECUTE 'PREPARE tx AS DELETE FROM hp_orders'; END$$`);
    c.send(serialize.bind({ statement: 'tx' }), serialize.execute({}), serialize.sync());
    // The session is closed: what it holds under its names is not what the gateway knows.
    expect(await answer(c)).toBe('closed');
    expect(await count('hp_orders')).toBe(3);
    await refusedAsChanged('BEGIN');
  });

  it("one of the gateway's own statements, prepared again by a DO block, never runs what it was made to hold", async () => {
    await fresh('hp_items');
    const c = await Raw.open(gw);
    // After a statement that could have prepared them again and did not, the gateway's statements are checked and run.
    await approved(c, 'DO $$BEGIN PERFORM 1; END$$');
    expect(rowsOf(await extended(c, 'SELECT count(*) FROM hp_items'))).toEqual([['3']]);
    // The gateway's COMMIT after a statement sent over the extended protocol, made a DELETE.
    await approved(c, `DO $$BEGIN EXECUTE 'DEALLOCATE countersign_commit'; EXECUTE 'PREPARE countersign_commit AS DELETE FROM hp_items'; END$$`);
    // A reviewer approves an update of nothing but row 1.
    const sql = 'UPDATE hp_items SET id = id WHERE id = 1';
    const held = await extended(c, sql);
    const id = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')?.message ?? '')?.[1];
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    expect(await extended(c, sql).catch(() => 'closed' as const)).toBe('closed');
    expect(await count('hp_items')).toBe(3);
    await refusedAsChanged(sql);
    // The approval was used up by the refused run; the update did not happen either (a new table's rows are 1, 2, 3).
    expect((await direct.query('SELECT array_agg(id ORDER BY id) AS ids FROM hp_items')).rows[0].ids).toEqual([1, 2, 3]);
    // The listener goes on for other sessions.
    const d = await Raw.open(gw);
    expect(rowsOf(await send(d, 'SELECT count(*) FROM hp_items'))).toEqual([['3']]);
    d.end();
  });
  it('a Parse alone runs no effect through the input of its literals (a domain CHECK), in a block or not; a statement prepared alone stays prepared', async () => {
    await direct.query(`DROP TABLE IF EXISTS hp_hits; CREATE TABLE hp_hits (n int);
      CREATE OR REPLACE FUNCTION hp_note(int) RETURNS bool LANGUAGE plpgsql AS $$BEGIN INSERT INTO hp_hits VALUES ($1); RETURN true; END$$;
      DROP DOMAIN IF EXISTS hp_d CASCADE; CREATE DOMAIN hp_d AS int CHECK (hp_note(VALUE))`);
    const c = await Raw.open(gw);
    // '{1}'::hp_d[] is read while the statement is parsed: each element goes through the domain's CHECK.
    c.send(serialize.parse({ name: 'lit', text: "SELECT '{1}'::hp_d[]" }), serialize.describe({ type: 'S', name: 'lit' }), serialize.sync());
    const outside = await c.until('readyForQuery');
    expect(await count('hp_hits')).toBe(0);
    // Refused before it is sent (pg-wire-parse-effects.test.ts): the domain's CHECK calls what is not allowed.
    expect([errors(outside), outside.at(-1)?.status]).toEqual([['55000'], 'I']);
    expect(errors(await send(c, 'BEGIN'))).toEqual([]);
    c.send(serialize.parse({ name: 'lit2', text: "SELECT '{2}'::hp_d[]" }), serialize.sync());
    const inside = await c.until('readyForQuery');
    expect(await count('hp_hits')).toBe(0);
    // As a Parse error does in Postgres, it fails the block.
    expect([errors(inside), inside.at(-1)?.status]).toEqual([['55000'], 'E']);
    expect(errors(await send(c, 'ROLLBACK'))).toEqual([]);
    // While the domain exists, any read is refused by the session check, as its CHECK may be reached; so is a Parse alone.
    await direct.query('DROP DOMAIN hp_d CASCADE');
    // A Parse is prepared as before, and runs later.
    c.send(serialize.parse({ name: 'plain', text: 'SELECT count(*) FROM hp_hits' }), serialize.describe({ type: 'S', name: 'plain' }), serialize.sync());
    expect(errors(await c.until('readyForQuery'))).toEqual([]);
    c.send(serialize.bind({ statement: 'plain' }), serialize.execute({}), serialize.sync());
    const ran = await c.until('readyForQuery');
    expect(rowsOf(ran)).toEqual([['0']]);
    c.end();
  });

  it('a Describe alone of a statement whose plan a schema change invalidated parses it again, read-only too', async () => {
    // A CHECK that writes only where it may: the Parse (read-only) passes, a parse in a read-write transaction writes.
    await direct.query(`DROP TABLE IF EXISTS hp_rw; CREATE TABLE hp_rw (n int);
      CREATE OR REPLACE FUNCTION hp_rw_note(int) RETURNS bool LANGUAGE plpgsql AS
        $$BEGIN IF current_setting('transaction_read_only') = 'off' THEN INSERT INTO hp_rw VALUES ($1); END IF; RETURN true; END$$;
      DROP DOMAIN IF EXISTS hp_rwd CASCADE; CREATE DOMAIN hp_rwd AS int`);
    const c = await Raw.open(gw);
    try {
      // Prepared while the domain has no CHECK (with one, a Parse alone is refused); the CHECK comes after.
      c.send(serialize.parse({ name: 'again', text: "SELECT '{7}'::hp_rwd[]" }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      await direct.query('ALTER DOMAIN hp_rwd ADD CONSTRAINT hp_rwd_check CHECK (hp_rw_note(VALUE))');
      expect(await count('hp_rw')).toBe(0);
      // Any schema change in the database (here a schema made elsewhere) marks every cached query for a new parse.
      await direct.query('DROP SCHEMA IF EXISTS hp_inval; CREATE SCHEMA hp_inval');
      for (const inBlock of [false, true]) {
        if (inBlock) expect(errors(await send(c, 'BEGIN'))).toEqual([]);
        c.send(serialize.describe({ type: 'S', name: 'again' }), serialize.sync());
        await c.until('readyForQuery');
        expect(await count('hp_rw')).toBe(0);
        await direct.query('DROP SCHEMA hp_inval; CREATE SCHEMA hp_inval');
      }
      expect(errors(await send(c, 'ROLLBACK'))).toEqual([]);
    } finally {
      c.end();
      await direct.query('DROP DOMAIN hp_rwd CASCADE; DROP SCHEMA IF EXISTS hp_inval');
    }
  });
});
