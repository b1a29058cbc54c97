/**
 * The Postgres wire listener under attack, by a client holding only an
 * agent's API key: each test sends what a hostile client could (raw protocol
 * messages no driver would send in that order) and checks, in the real
 * database or in the request's status, that nothing ran that policy did not
 * allow.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, cancelRequest, errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!db)('the Postgres wire listener under attack', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE t (id int PRIMARY KEY, note text);
      INSERT INTO t VALUES (1, 'one');
      CREATE TABLE secrets (s text);
      INSERT INTO secrets VALUES ('hunter2');`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('a Parse that fails upstream (the name is taken) does not change which statement the gateway judges a Bind of it as', async () => {
    const c = await Raw.open(gw);
    try {
      // Prepared, never executed: nothing to judge yet.
      c.send(serialize.parse({ name: 's1', text: 'SELECT s FROM secrets' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      // The same name again: Postgres refuses it (42P05) and keeps the first.
      c.send(serialize.parse({ name: 's1', text: 'SELECT note AS s FROM t' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42P05']);
      c.send(serialize.bind({ statement: 's1' }), serialize.execute({}), serialize.sync());
      const answer = await c.until('readyForQuery');
      expect(rowsOf(answer)).not.toContainEqual(['hunter2']);
      expect(errors(answer)).toHaveLength(1);
    } finally {
      c.end();
    }
  });

  it('a portal cannot be bound unjudged in a block and then executed as what a later, refused Bind of its name said', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('BEGIN'));
      await c.until('readyForQuery');
      // Bound in the block, never executed: the portal would outlive the Sync. The gateway sends no Bind without its Execute.
      c.send(serialize.parse({ text: 'SELECT s FROM secrets' }), serialize.bind({ portal: 'p' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
      c.send(serialize.query('SAVEPOINT a'));
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      c.send(serialize.parse({ text: 'SELECT note AS s FROM t' }), serialize.bind({ portal: 'p' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
      c.send(serialize.query('ROLLBACK TO SAVEPOINT a'));
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      c.send(serialize.execute({ portal: 'p' }), serialize.sync());
      const answer = await c.until('readyForQuery');
      expect(rowsOf(answer)).not.toContainEqual(['hunter2']);
      expect(errors(answer)).toEqual(['34000']);
    } finally {
      c.end();
    }
  });

  it('a statement prepared unjudged cannot pass for an empty one (which runs without a judgment) by a second Parse of its name', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ name: 'e', text: 'DELETE FROM t' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      c.send(serialize.parse({ name: 'e', text: '' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42P05']);
      c.send(serialize.bind({ statement: 'e' }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42501']);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
  });

  it('a client that floods its session behind a held statement is made to wait (session.test.ts), and its session goes on after', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query("UPDATE t SET note = 'held' WHERE id = 1"));
      await c.until('notice');
      // 64 MiB of (empty) queries behind the held statement: without a bound, all of it waits in the gateway's memory.
      const filler = serialize.query(' '.repeat(65_536));
      for (let i = 0; i < 1024; i++) c.socket.write(filler);
      await cancelRequest(gw.postgresPort!, c.key.pid, c.key.secret);
      expect(errors(await c.until('readyForQuery'))).toEqual(['57014']);
      for (let i = 0; i < 1024; i++) expect((await c.until('readyForQuery')).map((m) => m.name)).toEqual(['emptyQuery', 'readyForQuery']);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT note FROM t WHERE id = 1')).rows).toEqual([{ note: 'one' }]);
  });

  it('a read cannot leave its read-only transaction: settings of read-only mode refused, COMMIT inside makes it a write, the savepoint is not the client\'s', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of ['SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE', 'SET default_transaction_read_only = off', "SELECT set_config('transaction_read_only', 'off', false)"]) {
        c.send(serialize.query(sql));
        expect(errors(await c.until('readyForQuery'))).toHaveLength(1);
      }
      c.send(serialize.query('SELECT 1; COMMIT; DELETE FROM t'));
      expect(errors(await c.until('readyForQuery'))).toEqual(['42501']);
      c.send(serialize.query('BEGIN'));
      await c.until('readyForQuery');
      c.send(serialize.query('RELEASE SAVEPOINT countersign_ro'));
      expect(errors(await c.until('readyForQuery'))).toEqual(['3B001']);
      c.send(serialize.query('ROLLBACK'));
      await c.until('readyForQuery');
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
  });

  it("the gateway's own statement and portal names are not the client's, in the protocol or in SQL", async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ name: 'countersign_commit', text: 'SELECT 1' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42P05']);
      c.send(serialize.parse({ text: 'SELECT 1' }), serialize.bind({ portal: 'countersign_p' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42P03']);
      c.send(serialize.bind({ statement: 'countersign_guard' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42P03']);
      c.send(serialize.describe({ type: 'S', name: 'countersign_guard' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['26000']);
      c.send(serialize.close({ type: 'S', name: 'countersign_guard' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['26000']);
      for (const sql of ['EXECUTE countersign_commit', 'DEALLOCATE countersign_guard', 'DISCARD ALL']) {
        c.send(serialize.query(sql));
        expect(errors(await c.until('readyForQuery'))).toEqual(['42501']);
      }
      c.send(serialize.query('SELECT note FROM t'));
      expect(rowsOf(await c.until('readyForQuery'))).toEqual([['one']]);
    } finally {
      c.end();
    }
  });

  it('two-phase commit is not the transaction control a rule for BEGIN/COMMIT allows: COMMIT PREPARED ends another session\'s transaction', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of ["COMMIT PREPARED 'someone-elses'", "ROLLBACK PREPARED 'someone-elses'", "BEGIN; PREPARE TRANSACTION 'mine'"]) {
        c.send(serialize.query(sql));
        // Refused by policy (42501), never sent to the server (which would say 42704 or 55000).
        expect(errors(await c.until('readyForQuery'))).toEqual(['42501']);
      }
    } finally {
      c.end();
    }
  });

  it('a Bind never goes upstream without its Execute: binding alone runs type input and domain CHECKs, with no judgment', async () => {
    await direct.query(`CREATE TABLE calls (v text);
      CREATE FUNCTION log_call(v text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN INSERT INTO calls VALUES (v); RETURN true; END $$;
      CREATE DOMAIN checked AS text CHECK (log_call(VALUE));`);
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ text: 'SELECT $1::checked' }), serialize.bind({ values: ['bound-only'] }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
      c.send(serialize.parse({ text: 'SELECT $1::checked' }), serialize.bind({ values: ['flushed'] }), serialize.flush());
      expect(errors(await c.until('error'))).toEqual(['0A000']);
      c.send(serialize.sync());
      await c.until('readyForQuery');
      // Two portals bound, one executed: the other's Bind would ride along unjudged.
      c.send(serialize.parse({ name: 'k', text: 'SELECT $1::checked' }), serialize.bind({ portal: 'other', statement: 'k', values: ['riding'] }), serialize.bind({ statement: 'k', values: ['judged'] }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
      // The same portal bound twice: the second Bind replaces the unnamed portal, and the first would ride along with
      // the Execute of a statement judged alone (BEGIN, which runs with no check of the gateway's).
      // Prepared while the domain has no CHECK: with one, a Parse alone is refused (pg-wire-parse-effects.test.ts).
      await direct.query('ALTER DOMAIN checked DROP CONSTRAINT checked_check');
      c.send(serialize.parse({ name: 'k', text: 'SELECT $1::checked' }), serialize.parse({ name: 'b', text: 'BEGIN' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      await direct.query('ALTER DOMAIN checked ADD CONSTRAINT checked_check CHECK (log_call(VALUE))');
      c.send(serialize.bind({ statement: 'k', values: ['twice'] }), serialize.bind({ statement: 'b' }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
      c.send(serialize.query('COMMIT'));
      await c.until('readyForQuery');
    } finally {
      c.end();
      const calls = (await direct.query('SELECT v FROM calls')).rows;
      await direct.query('DROP DOMAIN checked; DROP FUNCTION log_call(text); DROP TABLE calls');
      expect(calls).toEqual([]);
    }
  });

  it('COPY data outside a COPY, and a Query in the middle of an extended batch, run nothing of their own', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.copyData(Buffer.from('DELETE FROM t')), serialize.copyDone(), serialize.copyFail('x'));
      c.send(serialize.parse({ text: 'DELETE FROM t' }), serialize.bind({}), serialize.query('SELECT note FROM t'));
      const answer = await c.until('readyForQuery');
      expect(errors(answer)).toEqual(['0A000']);
      expect(rowsOf(answer)).toEqual([['one']]);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
  });


  it('the function-call protocol (a function by its oid, no SQL) runs nothing; a second startup message mid-session ends the session, having run nothing', async () => {
    const oid = (await direct.query<{ oid: number }>("SELECT 'pg_catalog.lo_create'::pg_catalog.regproc::oid AS oid")).rows[0]!.oid;
    // FunctionCall: the function's oid, no format codes (all text), one argument '0', a text result.
    const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from('0'), Buffer.from([0, 0])]);
    body.writeInt32BE(oid, 0);
    const head = Buffer.from([0x46, 0, 0, 0, 0]);
    head.writeInt32BE(body.length + 4, 1);
    const c = await Raw.open(gw);
    try {
      c.send(head, body, serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
      c.send(serialize.query('SELECT note FROM t'));
      expect(rowsOf(await c.until('readyForQuery'))).toEqual([['one']]);
      c.send(serialize.startup({ user: 'deploy-bot', database: 'app-db' }), serialize.query('SELECT note FROM t'));
      expect(errors(await c.until('error'))).toEqual(['08P01']);
      await expect(c.until('readyForQuery')).rejects.toThrow(/connection closed/);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows).toEqual([{ n: 0 }]);
  });

  it('a Parse that fails before a Flush leaves the upstream waiting for a Sync: the session still serves the next statement', async () => {
    const c = await Raw.open(gw);
    try {
      // The server skips every message after an extended-protocol error up to a Sync, and a Flush is not one.
      c.send(serialize.parse({ text: 'SELEC nonsense' }), serialize.flush());
      expect(errors(await c.until('error'))).toEqual(['42601']);
      // As Postgres does, what follows up to the Sync is skipped.
      c.send(serialize.parse({ text: 'SELECT note FROM t' }), serialize.bind({}), serialize.execute({}), serialize.sync());
      expect((await c.until('readyForQuery')).map((m) => m.name)).toEqual(['readyForQuery']);
      c.send(serialize.query('SELECT note FROM t'));
      const answer = await c.until('readyForQuery');
      expect(errors(answer)).toEqual([]);
      expect(rowsOf(answer)).toEqual([['one']]);
      // The same after an Execute of an empty statement whose batch failed before it.
      c.send(serialize.parse({ name: 'dup', text: '' }), serialize.sync());
      await c.until('readyForQuery');
      c.send(serialize.parse({ name: 'dup', text: '' }), serialize.bind({ statement: 'dup' }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42P05']);
      c.send(serialize.query('SELECT note FROM t'));
      expect(rowsOf(await c.until('readyForQuery'))).toEqual([['one']]);
    } finally {
      c.end();
    }
  });

  it('a Parse and a Flush leave no transaction open upstream: the locks the Parse took are let go by the Sync', async () => {
    const c = await Raw.open(gw);
    const locks = () => direct.query("SELECT mode FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND relation = 't'::regclass AND pid <> pg_backend_pid()");
    try {
      // Parsing an UPDATE takes ROW EXCLUSIVE on its table (it blocks CREATE INDEX and DDL) until the transaction ends.
      c.send(serialize.parse({ name: 'w', text: "UPDATE t SET note = 'x'" }), serialize.flush());
      await c.until('parseComplete');
      c.send(serialize.sync());
      await c.until('readyForQuery');
      expect((await locks()).rows).toEqual([]);
    } finally {
      c.end();
    }
  });

  it('statement and portal names are one name to the gateway when they are one to Postgres, which reads only their first 63 bytes', async () => {
    const long = 'n'.repeat(63);
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ name: `${long}1`, text: 'SELECT note FROM t' }), serialize.sync());
      await c.until('readyForQuery');
      // To Postgres both names are the first 63 bytes: this Close drops, and this Parse replaces, the statement above.
      c.send(serialize.close({ type: 'S', name: `${long}2` }), serialize.parse({ name: `${long}2`, text: 'SELECT s AS note FROM secrets' }), serialize.sync());
      await c.until('readyForQuery');
      c.send(serialize.bind({ statement: `${long}1` }), serialize.execute({}), serialize.sync());
      const answer = await c.until('readyForQuery');
      expect(rowsOf(answer)).not.toContainEqual(['hunter2']);
      expect(errors(answer)).toHaveLength(1);
      // Portals too; a name of 63 bytes is the longest, and works.
      c.send(serialize.parse({ text: 'SELECT note FROM t' }), serialize.bind({ portal: `${long}p` }), serialize.execute({ portal: `${long}p` }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['42622']);
      c.send(serialize.parse({ name: long, text: 'SELECT note FROM t' }), serialize.bind({ portal: long, statement: long }), serialize.execute({ portal: long }), serialize.sync());
      const fits = await c.until('readyForQuery');
      expect(errors(fits)).toEqual([]);
      expect(rowsOf(fits)).toEqual([['one']]);
    } finally {
      c.end();
    }
  });

  it("a read does not run a function through a user-made operator class (ORDER BY, DISTINCT on a column of the class's type)", async () => {
    await direct.query(`CREATE SCHEMA hidden; CREATE TYPE hidden.k AS (v int);
      CREATE FUNCTION hidden.kcmp(a hidden.k, b hidden.k) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN RAISE NOTICE 'leak %', (SELECT s FROM secrets LIMIT 1); PERFORM pg_advisory_lock(777); RETURN btint4cmp(a.v, b.v); END $$;
      CREATE FUNCTION hidden.klt(a hidden.k, b hidden.k) RETURNS bool LANGUAGE sql AS $$ SELECT hidden.kcmp(a, b) < 0 $$;
      CREATE FUNCTION hidden.keq(a hidden.k, b hidden.k) RETURNS bool LANGUAGE sql AS $$ SELECT hidden.kcmp(a, b) = 0 $$;
      CREATE OPERATOR hidden.< (LEFTARG = hidden.k, RIGHTARG = hidden.k, FUNCTION = hidden.klt);
      CREATE OPERATOR hidden.= (LEFTARG = hidden.k, RIGHTARG = hidden.k, FUNCTION = hidden.keq);
      CREATE OPERATOR CLASS hidden.k_ops DEFAULT FOR TYPE hidden.k USING btree
        AS OPERATOR 1 hidden.<, OPERATOR 3 hidden.=, FUNCTION 1 hidden.kcmp(hidden.k, hidden.k);
      CREATE TABLE kt (c hidden.k); INSERT INTO kt VALUES (ROW(2)), (ROW(1));`);
    const c = await Raw.open(gw);
    try {
      // The SQL names no function and no operator of the schema: the default operator class of the column's type sorts.
      for (const sql of ['SELECT c FROM kt ORDER BY c', 'SELECT DISTINCT c FROM kt']) {
        c.send(serialize.query(sql));
        const answer = await c.until('readyForQuery');
        expect(errors(answer)).toEqual(['55000']);
        expect(answer.filter((m) => m.name === 'notice').map((m) => m.message)).not.toContainEqual(expect.stringContaining('hunter2'));
      }
      expect((await direct.query("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND objid = 777 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows).toEqual([]);
    } finally {
      c.end();
      await direct.query('DROP TABLE kt; DROP SCHEMA hidden CASCADE');
    }
  });

  it('a CancelRequest with a wrong key leaves a held statement alone; with the right one it withdraws it', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query("UPDATE t SET note = 'cancel-me' WHERE id = 1"));
      const notice = (await c.until('notice')).at(-1)!;
      const id = /request (req_[a-z0-9]+)/.exec(notice.message!)![1]!;
      // The listener checks the key before it closes the cancel connection.
      await cancelRequest(gw.postgresPort!, c.key.pid, (c.key.secret + 1) | 0);
      await cancelRequest(gw.postgresPort! , (c.key.pid % 2_000_000_000) + 1, c.key.secret);
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('pending');
      await cancelRequest(gw.postgresPort!, c.key.pid, c.key.secret);
      expect(errors(await c.until('readyForQuery'))).toEqual(['57014']);
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('cancelled');
    } finally {
      c.end();
    }
  });
});
