/**
 * The Postgres wire listener: an approved statement resumed in a session whose
 * state gives its text another meaning. The same text reads dates by the
 * session's DateStyle and times by its TimeZone, and finds a temporary table
 * before the real one of that name; a reviewer approved it as the session it
 * was submitted from would run it. Resumed where that state differs, it runs
 * nothing (55000) and the approval waits for a session that matches.
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** ATTACK_POLICY, and: the settings an action may change allowed; CREATE and DELETE held like UPDATE. */
const POLICY = ATTACK_POLICY.replace(
  'rules:\n',
  'rules:\n    - id: settings\n      when: facts.sql.statements.all(s, s.type == "set")\n      effect: allow\n' +
    '    - id: create-delete\n      when: facts.sql.statements.all(s, s.type in ["create", "delete", "drop"])\n      effect: approve\n      approvers: [{ groups: [sre], count: 1 }]\n',
);

describe.skipIf(!db)('the Postgres wire listener: an approval resumes only in a session whose state reads the statement as it was reviewed', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE d (day date, note text); INSERT INTO d VALUES ('2026-01-02', 'jan2'), ('2026-02-01', 'feb1');
      CREATE TABLE w (id int); INSERT INTO w VALUES (1), (2)`);
    // alice reviews, and reads the audit trail (auditor).
    const principals = DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p));
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }', principals });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  const send = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    return c.until('readyForQuery');
  };
  const approve = async (answer: Awaited<ReturnType<Raw['until']>>) => {
    const id = /request (req_[a-z0-9]+)/.exec(answer.find((m) => m.name === 'error')!.message!)![1]!;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    return id;
  };

  it('DateStyle: approved as 2 January, re-sent where the same text reads 1 February, it runs nothing; where it reads as reviewed, once', async () => {
    const sql = "UPDATE d SET note = 'hit' WHERE day = '01/02/2026'";
    const a = await Raw.open(gw);
    const held = await send(a, sql);
    expect(errors(held)).toEqual(['CS001']);
    const id = await approve(held);
    a.end();
    const b = await Raw.open(gw);
    try {
      expect(errors(await send(b, "SET DateStyle = 'ISO, DMY'"))).toEqual([]);
      const refused = await send(b, sql);
      expect(errors(refused)).toEqual(['55000']);
      expect(refused.find((m) => m.name === 'error')!.message).toContain(id);
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('approved');
      expect((await direct.query('SELECT note FROM d ORDER BY day')).rows).toEqual([{ note: 'jan2' }, { note: 'feb1' }]);
      // The same session, its setting back to what the reviewed one had: the statement runs, as reviewed.
      expect(errors(await send(b, "SET DateStyle = 'ISO, MDY'"))).toEqual([]);
      expect(errors(await send(b, sql))).toEqual([]);
    } finally {
      b.end();
    }
    expect((await direct.query('SELECT note FROM d ORDER BY day')).rows).toEqual([{ note: 'hit' }, { note: 'feb1' }]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
  });

  it('a temporary table: approved where it named the session\'s own scratch table, re-sent elsewhere it would empty the real one: refused', async () => {
    const a = await Raw.open(gw);
    const b = await Raw.open(gw);
    try {
      const create = 'CREATE TEMP TABLE w (id int)';
      await approve(await send(a, create));
      expect(errors(await send(a, create))).toEqual([]);
      const held = await send(a, 'DELETE FROM w');
      expect(errors(held)).toEqual(['CS001']);
      const id = await approve(held);
      // Another session, where w is the real table.
      expect(errors(await send(b, 'DELETE FROM w'))).toEqual(['55000']);
      expect((await direct.query('SELECT count(*)::int AS n FROM w')).rows).toEqual([{ n: 2 }]);
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('approved');
      // The session it was reviewed in: it empties that session's own table, as reviewed.
      expect(errors(await send(a, 'DELETE FROM w'))).toEqual([]);
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
    } finally {
      a.end();
      b.end();
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM w')).rows).toEqual([{ n: 2 }]);
  });

  it('the other way round: approved where w was the real table, re-sent where a temporary w hides it, it runs nothing', async () => {
    const a = await Raw.open(gw);
    const held = await send(a, 'DELETE FROM w WHERE id = 2');
    expect(errors(held)).toEqual(['CS001']);
    const id = await approve(held);
    a.end();
    const b = await Raw.open(gw);
    try {
      const create = 'CREATE TEMP TABLE w (id int)';
      await approve(await send(b, create));
      expect(errors(await send(b, create))).toEqual([]);
      expect(errors(await send(b, 'DELETE FROM w WHERE id = 2'))).toEqual(['55000']);
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('approved');
    } finally {
      b.end();
    }
    // A fresh session, as the one it was submitted from: the real table, as reviewed.
    const c = await Raw.open(gw);
    try {
      expect(errors(await send(c, 'DELETE FROM w WHERE id = 2'))).toEqual([]);
    } finally {
      c.end();
    }
    expect((await direct.query('SELECT id FROM w')).rows).toEqual([{ id: 1 }]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
  });

  it('the extended protocol, a statement parsed (unnamed) in one batch and executed in the next: reading the session state leaves it prepared', async () => {
    const sql = "UPDATE d SET note = 'ext' WHERE note = $1";
    const run = async () => {
      const c = await Raw.open(gw);
      try {
        c.send(serialize.parse({ text: sql, types: [25] }), serialize.describe({ type: 'S' }), serialize.sync());
        expect(errors(await c.until('readyForQuery'))).toEqual([]);
        c.send(serialize.bind({ values: ['feb1'] }), serialize.execute({}), serialize.sync());
        return await c.until('readyForQuery');
      } finally {
        c.end();
      }
    };
    const held = await run();
    expect(errors(held)).toEqual(['CS001']);
    const id = await approve(held);
    const resumed = await run();
    expect(errors(resumed)).toEqual([]);
    expect(resumed.map((m) => m.name)).toContain('commandComplete');
    expect((await direct.query("SELECT count(*)::int AS n FROM d WHERE note = 'ext'")).rows).toEqual([{ n: 1 }]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
  });

  it('node-postgres: a parameterised statement held, then re-sent from a new connection, in a transaction block or not, runs once approved', async () => {
    const connect = async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: gw.keys['deploy-bot'], database: 'app-db', ssl: false });
      await c.connect();
      return c;
    };
    await direct.query("INSERT INTO d VALUES ('2026-03-01', 'np-start')");
    for (const block of [false, true]) {
      const sql = 'UPDATE d SET note = $1 WHERE note = $2';
      const params = [`np-${block}`, block ? 'np-false' : 'np-start'];
      const send = async (c: pg.Client) => {
        if (block) await c.query('BEGIN');
        try {
          const r = await c.query(sql, params);
          if (block) await c.query('COMMIT');
          return r;
        } catch (e) {
          if (block) await c.query('ROLLBACK');
          throw e;
        }
      };
      const a = await connect();
      const held = (await send(a).catch((e: unknown) => e)) as pg.DatabaseError;
      await a.end();
      expect(held).toMatchObject({ code: 'CS001' });
      const id = /request (req_[a-z0-9]+)/.exec(held.message)![1]!;
      expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
      const b = await connect();
      try {
        expect(await send(b)).toMatchObject({ command: 'UPDATE', rowCount: 1 });
      } finally {
        await b.end();
      }
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
    }
  });

  it('a finished extended-protocol statement earlier in the block (its unnamed portal, which no SQL can name) does not keep the approval from resuming', async () => {
    const sql = "UPDATE d SET note = 'after-read' WHERE note = 'no such note'";
    const a = await Raw.open(gw);
    let id: string;
    try {
      expect(errors(await send(a, 'BEGIN'))).toEqual([]);
      a.send(serialize.parse({ text: 'SELECT count(*) FROM d WHERE note = $1', types: [25] }), serialize.bind({ values: ['x'] }), serialize.execute({}), serialize.sync());
      expect(errors(await a.until('readyForQuery'))).toEqual([]);
      const held = await send(a, sql);
      expect(errors(held)).toEqual(['CS001']);
      id = await approve(held);
    } finally {
      a.end();
    }
    // Sent again in a block where it comes first: the same session state but for that spent portal.
    const b = await Raw.open(gw);
    try {
      expect(errors(await send(b, 'BEGIN'))).toEqual([]);
      expect(errors(await send(b, sql))).toEqual([]);
      expect(errors(await send(b, 'COMMIT'))).toEqual([]);
    } finally {
      b.end();
    }
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
  });

  it('a pending request held from a session in another state: withdrawn by its requester, the statement is held anew from this one', async () => {
    const sql = "UPDATE d SET note = 'tz' WHERE note = 'no such note'";
    const a = await Raw.open(gw);
    expect(errors(await send(a, "SET TimeZone = 'UTC'"))).toEqual([]);
    const held = await send(a, sql);
    a.end();
    expect(errors(held)).toEqual(['CS001']);
    const first = /request (req_[a-z0-9]+)/.exec(held.find((m) => m.name === 'error')!.message!)![1]!;
    const b = await Raw.open(gw);
    try {
      expect(errors(await send(b, "SET TimeZone = 'Etc/GMT+12'"))).toEqual([]);
      const refused = await send(b, sql);
      expect(errors(refused)).toEqual(['55000']);
      expect(refused.find((m) => m.name === 'error')!.message).toContain(`/v1/requests/${first}/cancel`);
      expect((await gw.as('deploy-bot', `/v1/requests/${first}/cancel`, { body: {} })).status).toBe(200);
      const again = await send(b, sql);
      expect(errors(again)).toEqual(['CS001']);
      expect(again.find((m) => m.name === 'error')!.message).not.toContain(first);
    } finally {
      b.end();
    }
  });

  it('what changes where names resolve or who runs a statement is never a setting a session may change, even where policy allows SET', async () => {
    const c = await Raw.open(gw);
    try {
      for (const sql of ['SET search_path = pg_temp, public', 'SET ROLE postgres', 'SET SESSION AUTHORIZATION postgres', "SELECT pg_catalog.set_config('search_path', 'pg_temp', false)", 'RESET ALL']) {
        const answer = await send(c, sql);
        expect({ sql, codes: errors(answer) }).toEqual({ sql, codes: ['42501'] });
      }
      const shown = await send(c, 'SELECT pg_catalog.current_setting($$search_path$$) AS p, current_user = session_user AS same');
      expect(shown.filter((m) => m.name === 'dataRow').map((m) => m.fields)).toEqual([['"$user", public', 't']]);
    } finally {
      c.end();
    }
  });

  it('a SELECT that calls a function with an effect is not a read: signals, settings, large objects, sequences, dblink get 42501, and nothing happened', async () => {
    await direct.query('CREATE SEQUENCE s');
    const victim = new pg.Client({ connectionString: db!.url });
    await victim.connect();
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const c = await Raw.open(gw);
    try {
      for (const sql of [
        `SELECT pg_terminate_backend(${pid})`,
        `SELECT pg_cancel_backend(${pid})`,
        "SELECT set_config('TimeZone', 'Etc/GMT+12', false)",
        "SELECT lo_import('/etc/hostname')",
        'SELECT lo_create(0)',
        "SELECT nextval('s')",
        "SELECT setval('s', 100)",
        "SELECT dblink_exec('dbname=postgres', 'SELECT 1')",
        'SELECT pg_advisory_lock(1)',
        "SELECT pg_notify('c', 'x')",
        'SELECT 1; SELECT nextval($$s$$)',
        "SELECT * FROM d WHERE note = E'\\'' OR nextval('s') > 0",
      ]) {
        expect({ sql, codes: errors(await send(c, sql)) }).toEqual({ sql, codes: ['42501'] });
      }
      expect(errors(await send(c, 'SELECT pg_catalog.current_setting($$TimeZone$$) AS tz'))).toEqual([]);
    } finally {
      c.end();
    }
    expect((await victim.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    await victim.end();
    expect((await direct.query('SELECT last_value, is_called FROM s')).rows).toEqual([{ last_value: '1', is_called: false }]);
    expect((await direct.query('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows).toEqual([{ n: 0 }]);
  });

  it('COPY of a file or a program on the database server is not the COPY a rule for client COPY allows: denied, nothing ran', async () => {
    // An operator who lets agents \copy (COPY FROM STDIN, TO STDOUT) outright, as pg-wire-clients' policy does.
    const copying = await startTestGateway(POLICY.replace('rules:\n', 'rules:\n    - id: copy\n      when: facts.sql.statements.all(s, s.type == "copy")\n      effect: allow\n'), {
      env: { APP_DB_URL: db!.url },
      server: 'postgres: { port: 0, holdSeconds: 0 }',
    });
    const marker = `/tmp/cs_copy_${process.pid}_${Date.now()}`;
    const count = async () => (await direct.query('SELECT count(*)::int AS n FROM w')).rows;
    const before = await count();
    const c = await Raw.open(copying);
    try {
      const out = await send(c, 'COPY w TO STDOUT');
      expect(errors(out)).toEqual([]);
      for (const sql of [`COPY w FROM PROGRAM 'touch ${marker}'`, `COPY w TO PROGRAM 'cat > ${marker}'`, `COPY w TO '${marker}'`, "COPY w FROM '/etc/hostname'"]) {
        expect({ sql, codes: errors(await send(c, sql)) }).toEqual({ sql, codes: ['42501'] });
      }
    } finally {
      c.end();
      await copying.stop();
    }
    expect(existsSync(marker)).toBe(false);
    expect(await count()).toEqual(before);
  });

  it('TimeZone: the held request records the session state it was judged in (audit), and another time zone does not resume it', async () => {
    await direct.query("CREATE TABLE e (at timestamptz, note text); INSERT INTO e VALUES ('2026-01-01 05:00+00', 'early')");
    const sql = "UPDATE e SET note = 'gone' WHERE at < '2026-01-01 00:00'";
    const a = await Raw.open(gw);
    expect(errors(await send(a, "SET TimeZone = 'UTC'"))).toEqual([]);
    const held = await send(a, sql);
    a.end();
    const id = await approve(held);
    const events = (await gw.as('alice', `/v1/audit/events?request=${id}`)).body.events as { type: string; data: { context?: Record<string, string> } }[];
    const state = events.find((e) => e.type === 'request.submitted')!.data.context!['sessionState'];
    expect(state).toMatch(/^[0-9a-f]{64}$/);
    const b = await Raw.open(gw);
    try {
      // In UTC-12 the same text means 12:00 UTC: the early row would match.
      expect(errors(await send(b, "SET TimeZone = 'Etc/GMT+12'"))).toEqual([]);
      expect(errors(await send(b, sql))).toEqual(['55000']);
      expect(errors(await send(b, "SET TimeZone = 'UTC'"))).toEqual([]);
      expect(errors(await send(b, sql))).toEqual([]);
    } finally {
      b.end();
    }
    expect((await direct.query('SELECT note FROM e')).rows).toEqual([{ note: 'early' }]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('succeeded');
  });
});
