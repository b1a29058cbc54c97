/**
 * COPY … FROM STDIN through the Postgres wire listener: the rows are part of
 * the action. The listener reads them before the statement is judged, so an
 * approval is for the statement and these bytes: other rows sent with the
 * same statement are another action. Oversized data and a client's CopyFail
 * submit nothing. psql's \copy and raw protocol messages.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { approve, POLICY, psql, requests, statusOf, type Req } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();
const WAIT = 60_000;
afterAll(() => db?.drop());

type CopyReq = Req & { action: { input: { sql: string; copy?: { sha256: string; bytes: number; lines: number; preview: string } } } };

describe.skipIf(!db)('COPY FROM STDIN through the wire listener: the rows are part of the action', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const rows = async (sql: string) => (await direct.query(sql)).rows;
  const start = (server: string) =>
    startTestGateway(POLICY, {
      env: { APP_DB_URL: db!.url },
      server,
      principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)),
    });
  const all = async (re: RegExp) => ((await requests(gw)) as CopyReq[]).filter((q) => re.test(q.action.input.sql));

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE t (id int PRIMARY KEY, note text); CREATE TABLE audited (id int, note text);');
    gw = await start('postgres: { port: 0, holdSeconds: 0 }');
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('an approved COPY loads only the rows that were approved: other rows sent with the same statement are held anew, and load nothing', async () => {
    const copy = (...lines: string[]) => psql(gw, 'deploy-bot', ['-v', 'ON_ERROR_STOP=1'], ['\\copy audited FROM stdin', ...lines, '\\.', ''].join('\n'));
    const first = await copy('1\tharmless');
    expect(first.code).not.toBe(0);
    expect(first.stderr).toMatch(/held for approval as request req_/);
    const [held] = await all(/^COPY\s+audited\s+FROM\s+STDIN/i);
    expect(held?.status).toBe('pending');
    // What the reviewer sees: the rows, counted and previewed, and their digest.
    expect(held!.action.input.copy).toMatchObject({ bytes: 14, lines: 1, preview: '1\tharmless\n\\.\n' });
    expect(held!.action.input.copy!.sha256).toMatch(/^[0-9a-f]{64}$/);
    await approve(gw, held!.id);

    // The attack: the approved statement, other rows.
    const swapped = await copy('666\tevil', '667\tevil');
    expect(swapped.code).not.toBe(0);
    expect(swapped.stderr).toMatch(/held for approval as request req_/);
    expect(await rows('SELECT id FROM audited')).toEqual([]);
    expect(await statusOf(gw, held!.id)).toBe('approved');
    const now = await all(/^COPY\s+audited\s+FROM\s+STDIN/i);
    expect(now.filter((q) => q.status === 'pending').map((q) => q.action.input.copy?.lines)).toEqual([2]);

    // The approved statement with the approved rows: runs, once.
    const approved = await copy('1\tharmless');
    expect(approved.stderr).toBe('');
    expect(approved.stdout).toBe('COPY 1\n');
    expect(await rows('SELECT id, note FROM audited ORDER BY id')).toEqual([{ id: 1, note: 'harmless' }]);
    expect(await statusOf(gw, held!.id)).toBe('succeeded');
    const again = await copy('1\tharmless');
    expect(again.stderr).toMatch(/held for approval as request req_/);
    expect(await rows('SELECT id, note FROM audited ORDER BY id')).toEqual([{ id: 1, note: 'harmless' }]);
  }, WAIT);

  it('an allowed COPY loads its rows and answers COPY n, in text and csv, and inside a block that is rolled back', async () => {
    const script = [
      '\\copy t FROM stdin',
      '10\tten',
      '11\televen',
      '\\.',
      "\\copy t (id, note) FROM stdin WITH (FORMAT csv)",
      '12,"twelve, with a comma"',
      '\\.',
      'BEGIN;',
      '\\copy t FROM stdin',
      '13\tthirteen',
      '\\.',
      'ROLLBACK;',
      '',
    ].join('\n');
    const r = await psql(gw, 'deploy-bot', ['-v', 'ON_ERROR_STOP=1'], script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('COPY 2\nCOPY 1\nBEGIN\nCOPY 1\nROLLBACK\n');
    expect(await rows('SELECT id, note FROM t ORDER BY id')).toEqual([
      { id: 10, note: 'ten' },
      { id: 11, note: 'eleven' },
      { id: 12, note: 'twelve, with a comma' },
    ]);
    const done = (await all(/^COPY\s+t\s+FROM\s+STDIN/i)).filter((q) => q.status === 'succeeded');
    expect(done.map((q) => q.action.input.copy?.lines).sort()).toEqual([1, 2]);
  }, WAIT);

  it('a COPY whose data is over maxCopyBytes: an error (54000), nothing submitted, nothing loaded, and the session goes on', async () => {
    const small = await start('postgres: { port: 0, holdSeconds: 0, maxCopyBytes: 1024 }');
    try {
      const lines = Array.from({ length: 200 }, (_, i) => `${1000 + i}\trow number ${i}`);
      const script = ['\\set VERBOSITY verbose', '\\copy t FROM stdin', ...lines, '\\.', 'SELECT 42 AS answer;', ''].join('\n');
      const r = await psql(small, 'deploy-bot', ['-A', '-t'], script);
      expect(r.stderr).toMatch(/ERROR: {2}54000: COPY data over the limit of 1024 bytes/);
      expect(r.stdout).toBe('42\n');
      expect(await rows('SELECT id FROM t WHERE id >= 1000')).toEqual([]);
      const seen = ((await requests(small)) as CopyReq[]).map((q) => q.action.input.sql);
      expect(seen).toEqual(['SELECT 42 AS answer;']);
    } finally {
      await small.stop();
    }
  }, WAIT);

  it('a CopyFail from the client: 57014 as PostgreSQL answers it, nothing submitted, nothing loaded, and the session goes on', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('COPY t FROM STDIN -- given up'));
      const started = await c.until('copyInResponse');
      expect(started.at(-1)).toMatchObject({ binary: false });
      c.send(serialize.copyData(Buffer.from('500\tgiven up\n')), serialize.copyFail('the client gave up'));
      const answer = await c.until('readyForQuery');
      expect(errors(answer)).toEqual(['57014']);
      c.send(serialize.query('SELECT 7 AS n'));
      expect(rowsOf(await c.until('readyForQuery'))).toEqual([['7']]);
    } finally {
      c.end();
    }
    expect(await rows('SELECT id FROM t WHERE id = 500')).toEqual([]);
    expect(await all(/given up/)).toEqual([]);
  }, WAIT);

  it('a request carrying COPY data submitted over REST runs nothing: the data is only ever the wire session\'s', async () => {
    const copy = { sha256: 'a'.repeat(64), bytes: 9, lines: 1, preview: '600\tevil\n' };
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql: 'COPY t FROM STDIN', copy }, reason: 'load' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'INVALID_INPUT' } });
    expect(await rows('SELECT id FROM t WHERE id = 600')).toEqual([]);
  }, WAIT);

  it('a COPY in a string of several statements, or through the extended protocol, is refused: its rows would be judged by no one', async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query('SELECT 1; COPY t FROM STDIN'));
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
      c.send(serialize.parse({ text: 'COPY t FROM STDIN' }), serialize.bind({}), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['0A000']);
    } finally {
      c.end();
    }
    expect((await all(/COPY t FROM STDIN$/)).filter((q) => q.action.input.copy === undefined)).toEqual([]);
  }, WAIT);
});
