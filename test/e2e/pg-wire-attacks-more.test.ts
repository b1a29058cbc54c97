/**
 * The Postgres wire listener under attack, continued (pg-wire-attacks.test.ts):
 * before authentication, and with a policy that lets an agent PREPARE in SQL.
 */
import { connect } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, errors, outside, Raw } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!db)('the Postgres wire listener under attack, before authentication', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, maxSessions: 2, authenticationSeconds: 1 }' });
  });

  afterAll(async () => {
    await gw?.stop();
  });


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

describe.skipIf(!db)('the Postgres wire listener under attack: per-principal sessions, and SQL EXECUTE under a lax policy', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE v (id int); INSERT INTO v VALUES (1)');
    // An operator who lets agents PREPARE, EXECUTE and EXPLAIN outright, thinking EXECUTE is judged by what it runs.
    const policy = POLICY.replace(
      'rules:\n',
      'rules:\n    - id: lax\n      when: facts.sql.statements.all(s, s.type in ["prepare", "execute", "explain", "deallocate", "select"])\n      effect: allow\n',
    );
    gw = await startTestGateway(policy, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0, maxSessionsPerPrincipal: 2 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('one principal cannot hold more than maxSessionsPerPrincipal sessions (53300); another principal still gets one', async () => {
    const a = await Raw.open(gw);
    const b = await Raw.open(gw);
    try {
      await expect(Raw.open(gw)).rejects.toThrow(/53300|too many sessions for deploy-bot/);
      const other = await Raw.open(gw, 'other-bot');
      other.send(serialize.query('SELECT 1'));
      expect(errors(await other.until('readyForQuery'))).toEqual([]);
      other.end();
    } finally {
      a.end();
    }
    // The place a closed session held is free again.
    const c = await eventually(async () => Raw.open(gw).catch(() => undefined));
    c.end();
    b.end();
  });

  it('SQL EXECUTE of a statement PREPAREd in the session runs nothing, even where policy allows EXECUTE (55000)', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('PREPARE d AS DELETE FROM v'));
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      for (const sql of ['EXECUTE d', 'EXPLAIN ANALYZE EXECUTE d', 'SELECT 1; EXECUTE d']) {
        c.send(serialize.query(sql));
        expect(errors(await c.until('readyForQuery'))).toEqual(['55000']);
      }
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM v')).rows).toEqual([{ n: 1 }]);
  });

  it("an approval resumes only with the parameter types the statement was submitted with: the types choose what runs (f(int) or f(text))", async () => {
    const sql = 'UPDATE v SET id = length($1)';
    const send = async (types: number[]) => {
      const c = await Raw.open(gw);
      try {
        c.send(serialize.parse({ text: sql, types }), serialize.bind({ values: ['seven!!'] }), serialize.execute({}), serialize.sync());
        return await c.until('readyForQuery');
      } finally {
        c.end();
      }
    };
    const held = await send([25]);
    expect(errors(held)).toEqual(['CS001']);
    const id = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')!.message!)![1]!;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    // Sent again with varchar instead of text: refused, and the approval still waits for the statement as submitted.
    expect(errors(await send([1043]))).toEqual(['55000']);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('approved');
    expect(errors(await send([25]))).toEqual([]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
    expect((await direct.query('SELECT id FROM v')).rows).toEqual([{ id: 7 }]);
  });

  it('an approval is resumed only from the client address it was submitted from: policy may have judged that address', async () => {
    const send = async (from: string) => {
      const c = await Raw.open(gw, 'deploy-bot', from);
      try {
        c.send(serialize.query('UPDATE v SET id = 3'));
        return await c.until('readyForQuery');
      } finally {
        c.end();
      }
    };
    const held = await send('127.0.0.1');
    expect(errors(held)).toEqual(['CS001']);
    const id = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')!.message!)![1]!;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    expect(errors(await send('127.0.0.2'))).toEqual(['55000']);
    expect((await direct.query('SELECT id FROM v')).rows).toEqual([{ id: 7 }]);
    expect(errors(await send('127.0.0.1'))).toEqual([]);
    expect((await direct.query('SELECT id FROM v')).rows).toEqual([{ id: 3 }]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
  });
});

describe.skipIf(!db)('the Postgres wire listener: approvals a session never claims, and resumes from elsewhere', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE w (id int); INSERT INTO w VALUES (1)');
    // Updates held with a time to live of 5 s.
    const policy = POLICY.replace('      approvers: [{ groups: [sre], count: 1 }]\n', '      approvers: [{ groups: [sre], count: 1 }]\n      ttl: 5s\n');
    gw = await startTestGateway(policy, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('an approval no session claims expires with its time to live (the sweep), instead of staying approved for good; nothing ran', async () => {
    const c = await Raw.open(gw);
    c.send(serialize.query('UPDATE w SET id = 2'));
    const held = await c.until('readyForQuery');
    c.end();
    expect(errors(held)).toEqual(['CS001']);
    const id = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')!.message!)![1]!;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    const expired = await eventually(async () => {
      const r = (await gw.as('alice', `/v1/requests/${id}`)).body;
      return r.status === 'expired' ? r : undefined;
    }, 30_000);
    expect(expired.error.code).toBe('REQUEST_EXPIRED');
    // Sent again now: a new request, held; the expired approval ran nothing.
    const again = await Raw.open(gw);
    again.send(serialize.query('UPDATE w SET id = 2'));
    const answer = await again.until('readyForQuery');
    again.end();
    expect(errors(answer)).toEqual(['CS001']);
    expect(answer.find((m) => m.name === 'error')!.message).not.toContain(id);
    expect((await direct.query('SELECT id FROM w')).rows).toEqual([{ id: 1 }]);
  }, 60_000);

});

describe.skipIf(!db)('the Postgres wire listener under attack: a failed block left by a statement that ends it', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    // lower(5) runs public.lower(int): pg_catalog.lower takes no int. The session check refuses a bare name so shadowed.
    await direct.query(`CREATE TABLE x (id int, note text); INSERT INTO x VALUES (1, 'one');
      CREATE FUNCTION public.lower(int) RETURNS text LANGUAGE sql AS $$ SELECT 'shadow' $$;`);
    // Writes to x held, whatever else the string holds: the reviewer reads it whole.
    const policy = POLICY.replace('rules:\n', 'rules:\n    - id: writes-x\n      when: facts.sql.writes && facts.sql.tables.size() > 0 && facts.sql.tables.all(t, t == "x")\n      effect: approve\n      approvers: [{ groups: [sre], count: 1 }]\n');
    gw = await startTestGateway(policy, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('in a failed block, a string that ends the block and then writes runs only after the session check, as anywhere else', async () => {
    const sql = 'ROLLBACK; UPDATE x SET note = lower(5) WHERE id = 1';
    const c = await Raw.open(gw);
    try {
      for (const q of ['BEGIN', 'SELECT 1/0']) {
        c.send(serialize.query(q));
        await c.until('readyForQuery');
      }
      c.send(serialize.query(sql));
      const held = await c.until('readyForQuery');
      expect(errors(held)).toEqual(['CS001']);
      const id = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')!.message!)![1]!;
      expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
      // Sent again in the failed block, the approved string would run with no check of the gateway's around it.
      c.send(serialize.query(sql));
      expect(errors(await c.until('readyForQuery'))).toEqual(['55000']);
      // PREPARE TRANSACTION ends a failed block too (it rolls it back), and is not transaction control to policy.
      const prepared = "PREPARE TRANSACTION 'p'; UPDATE x SET note = lower(5) WHERE id = 1";
      c.send(serialize.query(prepared));
      const second = await c.until('readyForQuery');
      expect(errors(second)).toEqual(['CS001']);
      const next = /request (req_[a-z0-9]+)/.exec(second.find((m) => m.name === 'error')!.message!)![1]!;
      expect((await gw.as('alice', `/v1/requests/${next}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
      c.send(serialize.query(prepared));
      expect(errors(await c.until('readyForQuery'))).toEqual(['55000']);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT note FROM x')).rows).toEqual([{ note: 'one' }]);
  });
});
