/**
 * The Postgres wire listener: names the gateway runs by, changed behind it by
 * SQL that is not a write the gateway judged. A Parse sent alone runs the
 * input of its literals (a domain's CHECK, which may PREPARE and DEALLOCATE
 * in a read-only transaction), and a portal suspended in the client's block
 * can be closed and opened again as another query by SQL a reviewer approved
 * for something else. Neither may make the gateway run what it did not judge.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw, rowsOf, type Msg } from '../support/pg-raw.ts';
import { requests } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** ATTACK_POLICY, and: DO blocks held like UPDATE; inserts into hs_log allowed. */
const POLICY = ATTACK_POLICY.replace(
  'rules:\n',
  `rules:
    - id: do-blocks
      when: facts.sql.statements.all(s, s.type == "do")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: log-inserts
      when: facts.sql.statements.all(s, s.type == "insert") && facts.sql.tables.all(t, t == "hs_log")
      effect: allow
`,
);

describe.skipIf(!db)('the Postgres wire listener: statements and portals changed behind it', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    const principals = DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p));
    // Held statements wait: a statement held inside a block is approved while it waits, and the block goes on.
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 120 }', principals });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  const fresh = async () => {
    await direct.query(`DROP TABLE IF EXISTS hs_log, hs_victim; CREATE TABLE hs_log (id int); CREATE TABLE hs_victim (id int);
      INSERT INTO hs_victim VALUES (1), (2), (3)`);
  };
  const count = async (table: string) => Number((await direct.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  const send = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    return c.until('readyForQuery');
  };
  /** Sends a statement that is held, approves it while it waits, and returns what the client got. */
  const approvedWhileHeld = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    const notice = (await c.until('notice')).at(-1)!;
    const id = /request (req_[a-z0-9]+)/.exec(notice.message ?? '')?.[1];
    expect(id, notice.message).toBeDefined();
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    return c.until('readyForQuery');
  };
  const answer = async (c: Raw): Promise<Msg[] | 'closed'> => c.until('readyForQuery').catch(() => 'closed' as const);

  /** A Parse alone whose literal's domain CHECK runs each element as SQL; `then`: what the last element runs after the swap. */
  const swapByParse = async (c: Raw, then?: string) => {
    // Made earlier (say, by DDL a reviewer approved): a domain whose CHECK runs its value as SQL.
    await direct.query(`CREATE OR REPLACE FUNCTION hs_run(text) RETURNS bool LANGUAGE plpgsql AS $$BEGIN EXECUTE $1; RETURN true; END$$;
      DROP DOMAIN IF EXISTS hs_runs CASCADE; CREATE DOMAIN hs_runs AS text CHECK (hs_run(VALUE))`);
    // Read-only, and undone after: but PREPARE and DEALLOCATE are allowed there, and outlive the rollback.
    const elements = ['DEALLOCATE countersign_commit', 'PREPARE countersign_commit AS DELETE FROM hs_victim', ...(then ? [then] : [])];
    c.send(serialize.parse({ text: `SELECT '{${elements.map((e) => JSON.stringify(e)).join(',')}}'::hs_runs[]` }), serialize.sync());
    const got = await answer(c);
    await direct.query('DROP DOMAIN hs_runs CASCADE');
    return got;
  };
  /** An allowed insert over the extended protocol (the gateway's COMMIT goes in its flight), and the client's COMMIT. */
  const insertAndCommit = async (c: Raw) => {
    c.send(serialize.parse({ text: 'INSERT INTO hs_log VALUES (1)' }), serialize.bind({}), serialize.execute({}), serialize.sync());
    const got = await answer(c);
    if (got !== 'closed') await send(c, 'COMMIT').catch(() => undefined);
    return got;
  };

  it("a Parse alone whose literal's domain CHECK would prepare the gateway's COMMIT again as a DELETE: refused before it is sent, the session goes on", async () => {
    // The session check a read passes runs first (pg-wire-parse-effects.test.ts): the domain's CHECK calls what is not allowed.
    for (const then of [undefined, 'SELECT 1/0']) {
      await fresh();
      const c = await Raw.open(gw);
      const got = await swapByParse(c, then);
      expect(got === 'closed' ? got : errors(got)).toEqual(['55000']);
      expect(await insertAndCommit(c)).not.toBe('closed');
      expect([await count('hs_log'), await count('hs_victim')]).toEqual([1, 3]);
      c.end();
    }
  });

  it('a portal suspended in a block is judged again when continued, and one opened again as a DELETE behind the gateway is not continued', async () => {
    await fresh();
    const c = await Raw.open(gw);
    expect(errors(await send(c, 'BEGIN'))).toEqual([]);
    const sql = 'INSERT INTO hs_log VALUES (10), (11), (12) RETURNING id';
    c.send(serialize.parse({ text: sql }), serialize.bind({ portal: 'p' }), serialize.execute({ portal: 'p', rows: 1 }), serialize.sync());
    const first = await c.until('readyForQuery');
    expect([errors(first), rowsOf(first), first.some((m) => m.name === 'portalSuspended')]).toEqual([[], [['10']], true]);
    // Continued in the next batch: a new action, judged again as the statement the portal was bound for.
    const before = (await requests(gw)).filter((q) => q.action.input.sql === sql).length;
    c.send(serialize.execute({ portal: 'p', rows: 1 }), serialize.sync());
    expect(rowsOf(await c.until('readyForQuery'))).toEqual([['11']]);
    expect((await requests(gw)).filter((q) => q.action.input.sql === sql).length).toBe(before + 1);
    // A reviewer approves a DO block; it closes the portal and opens it again, under its name, as a DELETE.
    const swapped = await approvedWhileHeld(c, `DO $$DECLARE c refcursor := 'p'; BEGIN CLOSE c; OPEN c FOR DELETE FROM hs_victim RETURNING id; END$$`);
    expect([errors(swapped), swapped.at(-1)?.status]).toEqual([[], 'T']);
    // Continued as the insert it was bound for (allowed), the portal would now delete.
    c.send(serialize.execute({ portal: 'p', rows: 0 }), serialize.sync());
    const cont = await answer(c);
    if (cont !== 'closed') await send(c, 'COMMIT').catch(() => undefined);
    expect(await count('hs_victim')).toBe(3);
    expect(cont === 'closed' ? [] : rowsOf(cont)).not.toContainEqual(['1']);
  });
});
