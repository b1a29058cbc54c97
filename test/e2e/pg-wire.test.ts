/**
 * The Postgres wire listener end to end, with real clients (psql,
 * node-postgres) against the real PostgreSQL: every statement is an action —
 * allowed ones return real rows, denied ones 42501 with the request id, held
 * ones wait for a human and run once approved, in the session that sent them.
 */
import { connect } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { cancelRelay } from '../support/cancel-relay.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { cancelRequest, client, POLICY, psql } from '../support/pg-wire-clients.ts';
import { cancelRequest as cancelKey, errors, Raw, rowsOf } from '../support/pg-raw.ts';

const db = await createTestDatabase();
// The file's, after every describe's own afterAll, and whether or not they failed.
afterAll(() => db?.drop());

/** psql with ON_ERROR_STOP, the script on stdin. */
const psqlScript = (gw: TestGateway, who: string, script: string) => psql(gw, who, ['-v', 'ON_ERROR_STOP=1'], script);


describe.skipIf(!db)('the Postgres wire listener (psql, node-postgres, real PostgreSQL)', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const rows = async (sql: string) => (await direct.query(sql)).rows;
  const requests = async (status?: string) =>
    (await gw.as('alice', `/v1/requests?limit=100${status ? `&status=${status}` : ''}`)).body.requests as { id: string; status: string; action: { input: { sql: string; params?: unknown[] } }; context?: Record<string, string> }[];

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE t (id int PRIMARY KEY, note text);
      INSERT INTO t VALUES (1, 'one'), (2, 'two');
      CREATE TABLE notes (body text);`);
    // alice reads the audit trail (auditor).
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }', principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)) });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('psql: an allowed read returns the real rows, recorded as an action with surface postgres', async () => {
    const r = await psqlScript(gw, 'deploy-bot', 'SELECT id, note FROM t ORDER BY id;\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(' id | note');
    expect(r.stdout).toContain('  1 | one');
    expect(r.stdout).toContain('(2 rows)');
    const req = (await requests('succeeded')).find((q) => q.action.input.sql === 'SELECT id, note FROM t ORDER BY id;');
    const events = (await gw.as('alice', `/v1/audit/events?request=${req!.id}`)).body.events as { type: string; data: { context?: Record<string, string> } }[];
    expect(events.map((e) => e.type)).toEqual(['request.submitted', 'request.succeeded']);
    expect(events[0]!.data.context).toMatchObject({ surface: 'postgres', remote: '127.0.0.1', application: 'psql' });
  });

  it('psql: a denied statement gets 42501 with the request id, and the session goes on', async () => {
    const r = await psqlScript(gw, 'deploy-bot', "\\set ON_ERROR_STOP 0\nDELETE FROM t WHERE id = 1;\nSELECT count(*) AS n FROM t;\n");
    expect(r.stderr).toMatch(/ERROR: {2}deleting is never allowed here \(request req_[a-z0-9]+\)/);
    expect(r.stdout).toMatch(/ n \n---\n 2\n/);
    expect(await rows('SELECT count(*)::int AS n FROM t')).toEqual([{ n: 2 }]);
  });

  it('psql: a held write waits, a human approves over REST, and it runs once in that session', async () => {
    const run = psqlScript(gw, 'deploy-bot', "UPDATE t SET note = 'approved' WHERE id = 1;\n");
    const held = await eventually(async () => (await requests('pending')).find((q) => q.action.input.sql.startsWith("UPDATE t SET note = 'approved'")));
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('UPDATE 1');
    expect(r.stderr).toContain(`held for approval as request ${held.id}`);
    expect(await rows('SELECT note FROM t WHERE id = 1')).toEqual([{ note: 'approved' }]);
    expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.status).toBe('succeeded');
  });

  it('node-postgres: parameters and named prepared statements; the bound values are part of the action', async () => {
    const c = client(gw, 'deploy-bot');
    await c.connect();
    try {
      const a = await c.query({ name: 'by-id', text: 'SELECT note FROM t WHERE id = $1', values: [2] });
      const b = await c.query({ name: 'by-id', text: 'SELECT note FROM t WHERE id = $1', values: [1] });
      expect(a.rows).toEqual([{ note: 'two' }]);
      expect(b.rows).toHaveLength(1);
      const inserted = await c.query('INSERT INTO notes (body) VALUES ($1), ($2)', ['x', null]);
      expect(inserted.rowCount).toBe(2);
    } finally {
      await c.end();
    }
    const recorded = (await requests('succeeded')).filter((q) => q.action.input.sql === 'SELECT note FROM t WHERE id = $1');
    expect(recorded.map((q) => q.action.input.params).sort()).toEqual([['1'], ['2']]);
    expect(await rows('SELECT body FROM notes ORDER BY body NULLS LAST')).toEqual([{ body: 'x' }, { body: null }]);
  });

  it('a statement still held when the wait ends: an error naming it; sent again after approval it runs, once', async () => {
    const sql = "UPDATE t SET note = 'later' WHERE id = 2";
    const c = client(gw, 'deploy-bot');
    await c.connect();
    try {
      const waiting = c.query(sql).then(
        () => 'ran',
        (e: pg.DatabaseError) => e,
      );
      const held = await eventually(async () => (await requests('pending')).find((q) => q.action.input.sql === sql));
      // The client withdraws the held statement with a CancelRequest, as psql's Ctrl-C does.
      await cancelRequest(gw.postgresPort!, c);
      const err = await waiting;
      expect(err).toMatchObject({ code: '57014' });
      expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.status).toBe('cancelled');

      // Sent again: held anew. This time the session stops waiting (holdSeconds) only in the REST test below.
      const again = c.query(sql).catch((e: pg.DatabaseError) => e);
      const second = await eventually(async () => (await requests('pending')).find((q) => q.action.input.sql === sql));
      expect(second.id).not.toBe(held.id);
      await gw.as('alice', `/v1/requests/${second.id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } });
      expect(await again).toMatchObject({ command: 'UPDATE', rowCount: 1 });
      expect(await rows('SELECT note FROM t WHERE id = 2')).toEqual([{ note: 'later' }]);
    } finally {
      await c.end();
    }
  });

  it('refuses a wrong key (28P01), a key of another principal (28P01), and an unknown database (3D000) after the password', async () => {
    const wrong = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: 'cs_not_a_key', database: 'app-db' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
    const other = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: gw.keys['alice'], database: 'app-db' });
    await expect(other.connect()).rejects.toMatchObject({ code: '28P01' });
    const unknown = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: gw.keys['deploy-bot'], database: 'no-such-db' });
    await expect(unknown.connect()).rejects.toMatchObject({ code: '3D000' });
    const strangerUnknown = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: 'x', database: 'no-such-db' });
    await expect(strangerUnknown.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('inside a transaction block: allowed statements keep their meaning, and a refused one fails the block so COMMIT keeps nothing', async () => {
    const c = client(gw, 'deploy-bot');
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query("INSERT INTO notes (body) VALUES ('in-block')");
      expect((await c.query("SELECT count(*)::int AS n FROM notes WHERE body = 'in-block'")).rows).toEqual([{ n: 1 }]);
      await expect(c.query('DELETE FROM notes')).rejects.toMatchObject({ code: '42501' });
      await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      const end = await c.query('COMMIT');
      expect(end.command).toBe('ROLLBACK');
    } finally {
      await c.end();
    }
    expect(await rows("SELECT count(*)::int AS n FROM notes WHERE body = 'in-block'")).toEqual([{ n: 0 }]);
  });

  it('a read cannot write through the session: the server refuses it in the read-only transaction the gateway opened', async () => {
    // SET is settable by an action only for an allow-listed setting; temp tables are DDL (held). The session check
    // runs before every statement, so a name on the search_path shadowing pg_catalog is refused (55000).
    await direct.query('CREATE FUNCTION public.lower(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$');
    try {
      const r = await psqlScript(gw, 'deploy-bot', '\\set ON_ERROR_STOP 0\nSELECT lower(1);\nSELECT 2 AS still;\n');
      expect(r.stderr).toMatch(/ERROR: {2}a name in the SQL would not run the pg_catalog object policy saw/);
      expect(r.stdout).toContain(' still');
    } finally {
      await direct.query('DROP FUNCTION public.lower(int)');
    }
  });

  it('closes a connection that sends a malformed message, and other sessions go on', async () => {
    const c = client(gw, 'deploy-bot');
    await c.connect();
    try {
      const bad = await rawSession(gw, 'deploy-bot');
      bad.write(Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff])); // a Query claiming 4 GiB
      const reply = await bad.closed;
      expect(reply.toString('latin1')).toMatch(/54000|08P01/);
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
  });
});

describe.skipIf(!db)('a CancelRequest reaches what the session does when it arrives, never what it does next', () => {
  // The upstream is behind a relay that holds CancelRequests back until the test lets them through: a cancel the
  // gateway sent for one thing lands, late, on whatever runs then.
  let gw: TestGateway;
  let relay: Awaited<ReturnType<typeof cancelRelay>>;
  let direct: pg.Client;
  const active = (text: string) =>
    eventually(async () => ((await direct.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = $1", [text])).rows.length > 0 ? true : undefined));
  const statusOf = async (id: string) => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;
  const heldId = async (c: Raw) => /request (req_[a-z0-9]+)/.exec((await c.until('notice')).at(-1)!.message!)![1]!;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE c (id int PRIMARY KEY, note text); INSERT INTO c VALUES (1, 'one'), (2, 'two');`);
    relay = await cancelRelay(db!.url);
    // alice reviews and reads every request (auditor).
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: relay.url }, server: 'postgres: { port: 0, holdSeconds: 30 }', principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)) });
  });

  afterAll(async () => {
    await gw?.stop();
    await relay?.close();
    await direct?.end();
  });

  it('a held statement withdrawn by the client: nothing goes upstream, and neither the next statement nor an approval it resumes is cancelled', async () => {
    // An approval waiting for its session: held in a session that went away, then approved.
    const resumed = "UPDATE c SET note = 'resumed' WHERE id = 1 AND pg_catalog.pg_sleep(1) IS NOT NULL";
    const gone = await Raw.open(gw);
    gone.send(serialize.query(resumed));
    const approved = await heldId(gone);
    gone.socket.destroy();
    expect((await gw.as('alice', `/v1/requests/${approved}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    await eventually(async () => ((await statusOf(approved)) === 'approved' ? true : undefined));

    const c = await Raw.open(gw);
    try {
      c.send(serialize.query("UPDATE c SET note = 'withdrawn' WHERE id = 2"));
      const withdrawn = await heldId(c);
      await cancelKey(gw.postgresPort!, c.key.pid, c.key.secret);
      expect(errors(await c.until('readyForQuery'))).toEqual(['57014']);
      expect(await statusOf(withdrawn)).toBe('cancelled');

      // The next statement runs on the upstream; only then may a cancel sent for the held one arrive there.
      const slow = 'SELECT pg_catalog.pg_sleep(1) IS NOT NULL AS slept';
      c.send(serialize.query(slow));
      await active(slow);
      relay.release();
      const next = await c.until('readyForQuery');
      expect(errors(next)).toEqual([]);
      expect(rowsOf(next)).toEqual([['t']]);

      // Again, and then the approved statement is sent again: it runs, once, and its approval is used by it.
      c.send(serialize.query("UPDATE c SET note = 'withdrawn again' WHERE id = 2"));
      await heldId(c);
      await cancelKey(gw.postgresPort!, c.key.pid, c.key.secret);
      expect(errors(await c.until('readyForQuery'))).toEqual(['57014']);
      c.send(serialize.query(resumed));
      await active(resumed);
      const ran = await c.until('readyForQuery');
      expect(errors(ran)).toEqual([]);
      expect(ran.find((m) => m.name === 'commandComplete')).toMatchObject({ text: 'UPDATE 1' });
      expect(await statusOf(approved)).toBe('succeeded');
      expect((await direct.query('SELECT note FROM c ORDER BY id')).rows).toEqual([{ note: 'resumed' }, { note: 'two' }]);
      // Both statements are over: a cancel of the gateway's would have reached the relay long before.
      expect(relay.cancels()).toBe(0);
    } finally {
      c.end();
    }
  });

  it('a CancelRequest between statements reaches none: the statements before and after it run, on the same session', async () => {
    const c = await Raw.open(gw);
    try {
      const before = relay.cancels();
      for (let i = 0; i < 3; i++) {
        c.send(serialize.query(`SELECT ${i} AS n`));
        const ran = await c.until('readyForQuery');
        expect(errors(ran)).toEqual([]);
        expect(rowsOf(ran)).toEqual([[String(i)]]);
        await cancelKey(gw.postgresPort!, c.key.pid, c.key.secret);
      }
      c.send(serialize.query('SELECT 3 AS n'));
      const last = await c.until('readyForQuery');
      expect(errors(last)).toEqual([]);
      expect(rowsOf(last)).toEqual([['3']]);
      expect(relay.cancels()).toBe(before);
    } finally {
      c.end();
    }
  });

  it('a running statement cancelled by a CancelRequest that arrives late: nothing more goes upstream until it was handled, so it cannot land on the next statement', async () => {
    const c = await Raw.open(gw);
    try {
      relay.hold();
      const first = 'SELECT pg_catalog.pg_sleep(1) IS NOT NULL AS first';
      c.send(serialize.query(first));
      await active(first);
      await cancelKey(gw.postgresPort!, c.key.pid, c.key.secret);
      // Sent on to the upstream (the statement runs there), and held on the way: the statement ends before it arrives.
      await eventually(async () => (relay.cancels() === 1 ? true : undefined));
      const done = await c.until('readyForQuery');
      expect(errors(done)).toEqual([]);
      expect(rowsOf(done)).toEqual([['t']]);

      // The next statement waits for the cancel to be handled; it arrives with nothing running, and the statement runs.
      const slow = 'SELECT pg_catalog.pg_sleep(1) IS NOT NULL AS second';
      c.send(serialize.query(slow));
      // Let the cancel through once the statement is recorded as running: from there on it goes upstream at once.
      await eventually(async () => ((await gw.as('alice', '/v1/requests?limit=100&status=executing')).body.requests as { action: { input: { sql: string } } }[]).find((q) => q.action.input.sql === slow));
      relay.release();
      const next = await c.until('readyForQuery');
      expect(errors(next)).toEqual([]);
      expect(rowsOf(next)).toEqual([['t']]);
      expect(relay.cancels()).toBe(1);
    } finally {
      relay.release();
      c.end();
    }
  });
});

/** A session opened by hand (startup and password), for bytes no driver would send. */
async function rawSession(gw: TestGateway, who: string): Promise<{ write(b: Buffer): void; closed: Promise<Buffer> }> {
  const s = connect(gw.postgresPort!, '127.0.0.1');
  let got = Buffer.alloc(0);
  let ready: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const closed = new Promise<Buffer>((resolve) => s.on('close', () => resolve(got)));
  s.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d]);
    // AuthenticationCleartextPassword: answer it; ReadyForQuery: the session is open.
    if (got.includes(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]))) {
      got = Buffer.alloc(0);
      s.write(serialize.password(gw.keys[who]!));
    }
    if (got.includes(Buffer.from([0x5a, 0, 0, 0, 5, 0x49]))) {
      got = Buffer.alloc(0);
      ready();
    }
  });
  s.on('error', () => {});
  s.write(serialize.startup({ user: who, database: 'app-db' }));
  await isReady;
  return { write: (b) => s.write(b), closed };
}
