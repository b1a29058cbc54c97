/**
 * The Postgres wire listener under attack, by a client holding only an
 * agent's API key: each test sends what a hostile client could (raw protocol
 * messages no driver would send in that order) and checks, in the real
 * database or in the request's status, that nothing ran that policy did not
 * allow.
 */
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

const POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: no-secrets
      when: facts.sql.tables.exists(t, t == "secrets")
      effect: deny
      message: the secrets table is not for agents
    - id: reads
      when: facts.sql.readOnly && !facts.sql.tables.exists(t, t == "secrets")
      effect: allow
    - id: transactions
      when: facts.sql.statements.all(s, s.type == "transaction")
      effect: allow
    - id: updates
      when: facts.sql.statements.all(s, s.type == "update")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`;

type Msg = BackendMessage & { name: string; fields?: unknown[]; code?: string; message?: string; text?: string; status?: string };

/** A session driven message by message: what it sends is raw protocol, what it reads is parsed by pg-protocol. */
class Raw {
  private readonly got: Msg[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  /** The BackendKeyData of the session. */
  key = { pid: 0, secret: 0 };
  private constructor(readonly socket: Socket) {
    const parser = new Parser();
    socket.on('data', (d: Buffer) => {
      parser.parse(d, (m) => {
        this.got.push(m as Msg);
        this.wake?.();
      });
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static async open(gw: TestGateway, who = 'deploy-bot'): Promise<Raw> {
    const socket = connect(gw.postgresPort!, '127.0.0.1');
    const raw = new Raw(socket);
    socket.write(serialize.startup({ user: who, database: 'app-db' }));
    await raw.until('authenticationCleartextPassword');
    socket.write(serialize.password(gw.keys[who]!));
    const key = (await raw.until('readyForQuery')).find((m) => m.name === 'backendKeyData') as unknown as { processID: number; secretKey: number };
    raw.key = { pid: key.processID, secret: key.secretKey };
    return raw;
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** Messages up to and including the first named `name`. */
  async until(name: string): Promise<Msg[]> {
    for (;;) {
      const at = this.got.findIndex((m) => m.name === name);
      if (at >= 0) return this.got.splice(0, at + 1);
      if (this.closed) throw new Error(`connection closed before ${name}: ${JSON.stringify(this.got.map((m) => m.message ?? m.name))}`);
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  end(): void {
    this.socket.end(serialize.end());
  }
}

afterAll(async () => {
  await db?.drop();
});

/** An address of this machine's that is not loopback, if it has one. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const errors = (ms: Msg[]) => ms.filter((m) => m.name === 'error').map((m) => m.code);
const rowsOf = (ms: Msg[]) => ms.filter((m) => m.name === 'dataRow').map((m) => m.fields);

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

  it.todo(
    'SQL EXECUTE name is judged without what name holds (facts: type execute, no tables): under a policy that allows EXECUTE, ' +
      'PREPARE x AS DELETE FROM t (approved or allowed as "runs nothing") then EXECUTE x deletes; the listener should judge EXECUTE by the ' +
      'statement PREPAREd under that name in the session, or refuse SQL-level EXECUTE',
  );
  it.todo(
    "a Parse's parameter types are not part of the action or its digest: an approval of SQL + parameters is resumed whatever types " +
      'the re-sending Parse declares (int vs numeric vs a domain), so what runs can differ from what the reviewer saw',
  );

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

describe.skipIf(!db)('the Postgres wire listener under attack, before authentication', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, maxSessions: 2, authenticationSeconds: 1 }' });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it.todo(
    'one principal can hold every one of maxSessions (each with an upstream connection) and lock every other agent out: ' +
      'a per-principal cap on sessions (53300 past it) is missing',
  );

  it('a client that connects and never finishes its startup is closed, and does not keep its place among maxSessions', async () => {
    const idle = () =>
      new Promise<Buffer>((resolve) => {
        const s = connect(gw.postgresPort!, '127.0.0.1');
        let got = Buffer.alloc(0);
        s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
        s.on('error', () => {});
        s.on('close', () => resolve(got));
        // Half a startup packet, then nothing.
        s.write(serialize.startup({ user: 'deploy-bot', database: 'app-db' }).subarray(0, 10));
      });
    const [a, b] = await Promise.all([idle(), idle()]);
    expect(a.toString('latin1')).toContain('canceling authentication due to timeout');
    expect(b.toString('latin1')).toContain('57014');
    // The server sees each close a moment after the client does: a place is free once it has.
    const c = await eventually(() => Raw.open(gw).catch(() => undefined));
    c.send(serialize.query('SELECT 1'));
    expect(errors(await c.until('readyForQuery'))).toEqual([]);
    c.end();
  });

  it('refuses an empty password, a password with a NUL, and a key whose principal is not the user', async () => {
    for (const [user, password] of [['deploy-bot', ''], ['deploy-bot', `${gw.keys['deploy-bot']}\0`], ['alice', gw.keys['deploy-bot']!], ['', gw.keys['deploy-bot']!]] as const) {
      const cl = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user, password, database: 'app-db' });
      cl.on('error', () => {});
      await expect(cl.connect()).rejects.toMatchObject({ code: expect.stringMatching(/^28(P01|000)$/) });
    }
  });

  it.skipIf(!outside)('asks for no password in cleartext from an address that is not loopback', async () => {
    const wide = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: "postgres: { port: 0, host: '0.0.0.0' }" });
    try {
      const got = await new Promise<Buffer>((resolve) => {
        const sock = connect(wide.postgresPort!, outside!);
        let b = Buffer.alloc(0);
        sock.on('data', (d: Buffer) => (b = Buffer.concat([b, d])));
        sock.on('error', () => {});
        sock.on('close', () => resolve(b));
        sock.write(serialize.startup({ user: 'deploy-bot', database: 'app-db' }));
      });
      expect(got.toString('latin1')).toContain('28000');
      expect(got.includes(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]))).toBe(false);
    } finally {
      await wide.stop();
    }
  });
});


describe.skipIf(!db)('the Postgres wire listener under attack, with SQL-level PREPARE allowed', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE u (id int); INSERT INTO u VALUES (1)');
    // Preparing runs nothing and EXECUTE is denied: a policy may well let an agent prepare.
    const policy = POLICY.replace(
      'rules:\n',
      'rules:\n    - id: prepare\n      when: facts.sql.statements.all(s, s.type == "prepare" || s.type == "deallocate")\n      effect: allow\n' +
        '    - id: inserts\n      when: facts.sql.statements.all(s, s.type == "insert") && facts.sql.tables.all(t, t == "u")\n      effect: allow\n',
    );
    gw = await startTestGateway(policy, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('an Execute of what the gateway knows as an empty statement never runs upstream unjudged (the name was prepared again in SQL)', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ name: 'e', text: '' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      for (const sql of ['DEALLOCATE e', 'PREPARE e AS DELETE FROM u']) {
        c.send(serialize.query(sql));
        expect(errors(await c.until('readyForQuery'))).toEqual([]);
      }
      c.send(serialize.query('EXECUTE e'));
      expect(errors(await c.until('readyForQuery'))).toEqual(['42501']);
      c.send(serialize.bind({ statement: 'e' }), serialize.execute({}), serialize.sync());
      const answer = await c.until('readyForQuery');
      expect(answer.map((m) => m.name)).not.toContain('commandComplete');
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM u')).rows).toEqual([{ n: 1 }]);
  });

  it('a statement prepared again in SQL (DEALLOCATE, PREPARE) is not judged by what the protocol-level Parse of its name said', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ name: 'w', text: 'INSERT INTO u VALUES (2)' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      for (const sql of ['DEALLOCATE w', 'PREPARE w AS DELETE FROM u']) {
        c.send(serialize.query(sql));
        expect(errors(await c.until('readyForQuery'))).toEqual([]);
      }
      c.send(serialize.bind({ statement: 'w' }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['26000']);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM u')).rows).toEqual([{ n: 1 }]);
  });

  it('an approval runs once: the same statement re-sent from two sessions at once runs in one of them, and not for another principal', async () => {
    const sql = 'UPDATE u SET id = id + 10';
    const a = await Raw.open(gw);
    a.send(serialize.query(sql));
    const held = await a.until('readyForQuery');
    expect(errors(held)).toEqual(['CS001']);
    const id = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')!.message!)![1]!;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    a.end();
    // Another agent sending the same text gets a request of its own, held.
    const other = await Raw.open(gw, 'other-bot');
    other.send(serialize.query(sql));
    expect(errors(await other.until('readyForQuery'))).toEqual(['CS001']);
    other.end();
    const [b, c] = await Promise.all([Raw.open(gw), Raw.open(gw)]);
    b.send(serialize.query(sql));
    c.send(serialize.query(sql));
    const answers = await Promise.all([b.until('readyForQuery'), c.until('readyForQuery')]);
    const ran = answers.filter((ms) => ms.some((m) => m.name === 'commandComplete'));
    expect(ran).toHaveLength(1);
    expect(answers.flatMap(errors)).toHaveLength(1);
    b.end();
    c.end();
    expect((await direct.query('SELECT id FROM u')).rows).toEqual([{ id: 11 }]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
  });
});


/** Sends a CancelRequest as libpq does: a new connection, the key the session was given. */
function cancelRequest(port: number, pid: number, secret: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(serialize.cancel(pid, secret)));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}
