/**
 * The Postgres wire listener: an approval runs what was approved, once,
 * whatever the shape of the protocol conversation that sends it. Several
 * Parse/Bind/Execute before one Sync with a held or denied statement in the
 * middle run nothing after it up to the Sync (as PostgreSQL skips the rest of
 * a batch after an error); an approved statement executed twice in one batch,
 * its portal executed again, or sent again after a ROLLBACK TO SAVEPOINT undid
 * it, runs once and is then a new request; a value approved as text resumes
 * when bound in binary (it is the same value), and nowhere but on the
 * database name it was held on.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { errors, Raw, rowsOf, type Msg } from '../support/pg-raw.ts';
import { approve, statusOf } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

/** Reads, transaction control and inserts into pl_log allowed; updates held; the rest (DELETE) denied. Two names for one database. */
const POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
  - name: other-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: reads
      when: facts.sql.readOnly
      effect: allow
    - id: transactions
      when: facts.sql.statements.all(s, s.type == "transaction")
      effect: allow
    - id: log
      when: facts.sql.statements.all(s, s.type == "insert") && facts.sql.tables.all(t, t == "pl_log")
      effect: allow
    - id: updates
      when: facts.sql.statements.all(s, s.type == "update")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`;

const pbe = (sql: string, portal = '', rows = 0) => [serialize.parse({ text: sql }), serialize.bind({ portal }), serialize.execute({ portal, rows })];
/** The request an error names. */
const held = (ms: Msg[]) => /request (req_[a-z0-9]+)/.exec(ms.find((m) => m.name === 'error')?.message ?? '')?.[1];
const tags = (ms: Msg[]) => ms.filter((m) => m.name === 'commandComplete').map((m) => m.text);

describe.skipIf(!db)('the Postgres wire listener: approvals and the shape of the protocol conversation', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const n = async (id: number) => (await direct.query<{ n: number }>('SELECT n FROM pl_c WHERE id = $1', [id])).rows[0]!.n;
  const logged = async () => (await direct.query<{ v: string }>('SELECT v FROM pl_log ORDER BY v')).rows.map((r) => r.v);

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE pl_log (v text); CREATE TABLE pl_c (id int PRIMARY KEY, n int NOT NULL); INSERT INTO pl_c SELECT g, 0 FROM generate_series(1, 7) g');
    const principals = DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p));
    // A held statement is answered at once (CS001): approved, it runs when it is sent again.
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }', principals });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  /** Holds `sql` from a session of its own and approves it; the request's id. */
  const approved = async (sql: string): Promise<string> => {
    const c = await Raw.open(gw);
    c.send(...pbe(sql), serialize.sync());
    const id = held(await c.until('readyForQuery'));
    c.end();
    expect(id).toBeDefined();
    await approve(gw, id!);
    return id!;
  };

  it('held inside a block, rolled back, approved: sent again in a block of the same session, it runs once', async () => {
    // First in the file: its upstream connection is one on which no block has failed yet. Failing the block loads PL/pgSQL on the upstream session (and with it settings of its own, at their defaults): the
    // session's state still reads the statement as when it was held.
    const sql = 'UPDATE pl_c SET n = n + 1 WHERE id = 7';
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('BEGIN'), serialize.query(sql), serialize.query('ROLLBACK'));
      await c.until('readyForQuery');
      const first = await c.until('readyForQuery');
      expect(errors(first)).toEqual(['CS001']);
      expect(tags(await c.until('readyForQuery'))).toEqual(['ROLLBACK']);
      const id = held(first)!;
      await approve(gw, id);
      c.send(serialize.query('BEGIN'), serialize.query(sql), serialize.query('COMMIT'));
      await c.until('readyForQuery');
      const again = await c.until('readyForQuery');
      expect(errors(again)).toEqual([]);
      expect(tags(again)).toEqual(['UPDATE 1']);
      expect(tags(await c.until('readyForQuery'))).toEqual(['COMMIT']);
      expect(await statusOf(gw, id)).toBe('succeeded');
    } finally {
      c.end();
    }
    expect(await n(7)).toBe(1);
  });

  it('a held or denied statement in the middle of a batch: nothing after it runs up to the Sync; inside a block, COMMIT keeps nothing', async () => {
    const c = await Raw.open(gw);
    try {
      for (const middle of ['UPDATE pl_c SET n = n + 1 WHERE id = 1', 'DELETE FROM pl_c WHERE id = 1']) {
        c.send(...pbe(middle), ...pbe("INSERT INTO pl_log VALUES ('after')"), ...pbe('UPDATE pl_c SET n = n + 1 WHERE id = 2'), serialize.sync());
        const answer = await c.until('readyForQuery');
        expect(errors(answer)).toEqual([middle.startsWith('UPDATE') ? 'CS001' : '42501']);
        expect(tags(answer)).toEqual([]);
      }
      c.send(serialize.query('BEGIN'), ...pbe("INSERT INTO pl_log VALUES ('before')"), ...pbe('UPDATE pl_c SET n = n + 1 WHERE id = 3'), ...pbe("INSERT INTO pl_log VALUES ('after')"), serialize.sync(), serialize.query('COMMIT'));
      await c.until('readyForQuery');
      const batch = await c.until('readyForQuery');
      expect(errors(batch)).toEqual(['CS001']);
      expect(tags(batch)).toEqual(['INSERT 0 1']);
      expect(batch.at(-1)?.status).toBe('E');
      expect(tags(await c.until('readyForQuery'))).toEqual(['ROLLBACK']);
    } finally {
      c.end();
    }
    expect(await logged()).toEqual([]);
    expect([await n(1), await n(2), await n(3)]).toEqual([0, 0, 0]);
  });

  it('an approved statement runs once: executed twice in one batch, or its portal executed again, the rest is held anew', async () => {
    const sql = 'UPDATE pl_c SET n = n + 1 WHERE id = 4';
    const id = await approved(sql);
    const c = await Raw.open(gw);
    try {
      c.send(...pbe(sql, 'p'), serialize.execute({ portal: 'p' }), serialize.bind({ portal: 'q' }), serialize.execute({ portal: 'q' }), serialize.sync());
      const answer = await c.until('readyForQuery');
      expect(tags(answer)).toEqual(['UPDATE 1']);
      expect(errors(answer)).toEqual(['CS001']);
      expect(held(answer)).not.toBe(id);
    } finally {
      c.end();
    }
    expect(await statusOf(gw, id)).toBe('succeeded');
    expect(await n(4)).toBe(1);

    // In a block, with a row limit: the first Execute runs the UPDATE whole; the next one is a new request, and fails the block.
    const returning = 'UPDATE pl_c SET n = n + 1 WHERE id IN (5, 6) RETURNING id';
    const again = await approved(returning);
    const b = await Raw.open(gw);
    try {
      b.send(serialize.query('BEGIN'), ...pbe(returning, 'r', 1), serialize.execute({ portal: 'r', rows: 1 }), serialize.sync());
      await b.until('readyForQuery');
      const answer = await b.until('readyForQuery');
      expect(rowsOf(answer)).toHaveLength(1);
      expect(answer.some((m) => m.name === 'portalSuspended')).toBe(true);
      expect(errors(answer)).toEqual(['CS001']);
      b.send(serialize.query('COMMIT'));
      expect(tags(await b.until('readyForQuery'))).toEqual(['ROLLBACK']);
    } finally {
      b.end();
    }
    expect(await statusOf(gw, again)).toBe('succeeded');
    expect([await n(5), await n(6)]).toEqual([0, 0]);
  });

  it('an approved statement undone by ROLLBACK TO SAVEPOINT and sent again is a new request: the approval ran once', async () => {
    const sql = 'UPDATE pl_c SET n = n + 10 WHERE id = 4';
    const id = await approved(sql);
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('BEGIN'), serialize.query('SAVEPOINT s'), serialize.query(sql), serialize.query('ROLLBACK TO SAVEPOINT s'), serialize.query(sql), serialize.query('COMMIT'));
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await c.until('readyForQuery'));
      expect(tags(answers[2]!)).toEqual(['UPDATE 1']);
      expect(errors(answers[4]!)).toEqual(['CS001']);
      expect(held(answers[4]!)).not.toBe(id);
      expect(tags(answers[5]!)).toEqual(['ROLLBACK']);
    } finally {
      c.end();
    }
    expect(await statusOf(gw, id)).toBe('succeeded');
    expect(await n(4)).toBe(1);
  });

  it('a value approved as text resumes bound in binary, once; on another database name the same statement is a new request', async () => {
    const sql = 'UPDATE pl_c SET n = n + $1 WHERE id = 1';
    const typed = (value: string | Buffer) => [serialize.parse({ text: sql, types: [23] }), serialize.bind({ values: [value] }), serialize.execute({}), serialize.sync()];
    const c = await Raw.open(gw);
    let id: string | undefined;
    try {
      c.send(...typed('7'));
      id = held(await c.until('readyForQuery'));
      expect(id).toBeDefined();
      await approve(gw, id!);
      // pg-protocol sends a Buffer in binary format: int4 7.
      c.send(...typed(Buffer.from([0, 0, 0, 7])));
      expect(tags(await c.until('readyForQuery'))).toEqual(['UPDATE 1']);
      c.send(...typed(Buffer.from([0, 0, 0, 7])));
      const third = await c.until('readyForQuery');
      expect(errors(third)).toEqual(['CS001']);
      expect(held(third)).not.toBe(id);
    } finally {
      c.end();
    }
    expect(await n(1)).toBe(7);

    const other = await approved('UPDATE pl_c SET n = n + 100 WHERE id = 2');
    const o = await Raw.open(gw, 'deploy-bot', undefined, undefined, 'other-db');
    try {
      o.send(...pbe('UPDATE pl_c SET n = n + 100 WHERE id = 2'), serialize.sync());
      const answer = await o.until('readyForQuery');
      expect(errors(answer)).toEqual(['CS001']);
      expect(held(answer)).not.toBe(other);
    } finally {
      o.end();
    }
    expect(await statusOf(gw, other)).toBe('approved');
    expect(await n(2)).toBe(0);
  });
});
