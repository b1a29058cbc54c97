import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../../core/ports.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresConnection } from './connection.ts';
import type { SqlStatementResult } from './connection.ts';
import { loadSqlParser } from './facts.ts';

const db = await createTestDatabase();

function results(r: ExecutionResult): SqlStatementResult[] {
  return (r.output as { results: SqlStatementResult[] }).results;
}

function sqlstate(r: ExecutionResult): unknown {
  return (r.output as { sqlstate?: unknown }).sqlstate;
}

describe.skipIf(!db)('createPostgresConnection (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  const conn = createPostgresConnection({ name: 'orders-db', url, tags: { env: 'test' }, maxRows: 5 });

  async function run(sql: string, params?: (string | number | boolean | null)[], readOnly = false): Promise<ExecutionResult> {
    return conn.execute(params ? { sql, params } : { sql }, { readOnly });
  }

  async function itemCount(): Promise<number> {
    const r = await run('SELECT count(*)::int FROM items');
    return results(r)[0]?.rows[0]?.[0] as number;
  }

  beforeAll(async () => {
    await loadSqlParser();
    const r = await run(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    expect(r.ok).toBe(true);
  });

  afterAll(async () => {
    await conn.close();
    await db?.drop();
  });

  it('describes itself and derives facts with the parser', () => {
    expect(conn.info).toEqual({ name: 'orders-db', kind: 'postgres', tags: { env: 'test' } });
    const facts = conn.facts({ sql: 'DELETE FROM items' });
    expect(facts).toMatchObject({ kind: 'postgres', writes: true, sql: { tables: ['items'], unboundedWrite: true } });
  });

  it('runs a read with params and returns its rows', async () => {
    const r = await run('SELECT id, name FROM items WHERE id = $1', [2], true);
    expect(r.ok).toBe(true);
    expect(results(r)).toEqual([{ command: 'SELECT', rowCount: 1, fields: ['id', 'name'], rows: [[2, 'b']] }]);
    expect(r.summary).toEqual({ statements: 1, rowCount: 1 });
  });

  it('plans the agent\'s statement with the database\'s own JIT setting (off only for the session check)', async () => {
    await run(`ALTER DATABASE "${url.split('/').pop() ?? ''}" SET jit = on`);
    const r = await run("SELECT current_setting('jit')", undefined, true);
    expect(results(r)[0]?.rows).toEqual([['on']]);
  });

  it('keeps columns of the same name apart', async () => {
    const r = await run('SELECT a.id, b.id FROM items a JOIN items b ON b.id = a.id + 1 ORDER BY a.id');
    expect(results(r)[0]).toMatchObject({ fields: ['id', 'id'], rows: [[1, 2], [2, 3]] });
  });

  it('returns one result per statement of a multi-statement string', async () => {
    const r = await run("SELECT 1 AS a; SELECT 2 AS b, 'x' AS c; UPDATE items SET name = name WHERE id = 1");
    expect(r.ok).toBe(true);
    expect(results(r).map((s) => [s.command, s.fields, s.rows])).toEqual([
      ['SELECT', ['a'], [[1]]],
      ['SELECT', ['b', 'c'], [[2, 'x']]],
      ['UPDATE', [], []],
    ]);
    expect(r.summary).toEqual({ statements: 3, rowCount: 3 });
  });

  it('reports Postgres refusing several statements with params as a failed result', async () => {
    const r = await run('SELECT $1::int; SELECT 2', [1]);
    expect(r.ok).toBe(false);
    expect(sqlstate(r)).toBe('42601');
  });

  it('reports a missing table with its SQLSTATE and no URL', async () => {
    const r = await run('SELECT * FROM nowhere');
    expect(r).toMatchObject({
      ok: false,
      output: { sqlstate: '42P01' },
      summary: { sqlstate: '42P01' },
      error: { code: 'EXECUTION_FAILED', message: 'postgres 42P01: relation "nowhere" does not exist' },
    });
    const text = JSON.stringify(r);
    expect(text).not.toContain(url);
    expect(text).not.toContain('127.0.0.1');
  });

  it('says a read-only run of a missing table names a relation the server does not have', async () => {
    const r = await run('SELECT * FROM nowhere', undefined, true);
    expect(r).toMatchObject({ ok: false, error: { code: 'SQL_SESSION_UNSAFE', message: "no relation nowhere on this server, as the session's search_path resolves it; nothing ran" } });
  });

  it('refuses a write in a read-only run, and nothing is written', async () => {
    const r = await run("INSERT INTO items VALUES (9, 'z')", undefined, true);
    expect(r.ok).toBe(false);
    expect(sqlstate(r)).toBe('25006');
    expect(await itemCount()).toBe(3);
  });

  it('stays read-only after an agent commits inside a read-only run', async () => {
    const r = await run("COMMIT; INSERT INTO items VALUES (9, 'z')", undefined, true);
    expect(r.ok).toBe(false);
    expect(sqlstate(r)).toBe('25006');
    expect(await itemCount()).toBe(3);
  });

  it('rolls back every statement when one fails', async () => {
    const r = await run("INSERT INTO items VALUES (10, 'y'); SELECT 1/0");
    expect(sqlstate(r)).toBe('22012');
    expect(await itemCount()).toBe(3);
  });

  it('does not let session settings leak into the next action', async () => {
    expect((await run("SET work_mem = '1234kB'")).ok).toBe(true);
    const r = await run('SHOW work_mem');
    expect(results(r)[0]?.rows).toEqual([['4MB']]);
  });

  it('caps rows over all statements and marks the results it cut', async () => {
    const r = await run('SELECT generate_series(1, 3); SELECT generate_series(1, 4)');
    expect(results(r).map((s) => [s.rowCount, s.rows.length, s.truncated])).toEqual([
      [3, 3, undefined],
      [4, 2, true],
    ]);
    expect(r.summary).toEqual({ statements: 2, rowCount: 7 });
  });

  it('converts values JSON cannot carry into strings', async () => {
    const r = await run(
      `SELECT 9007199254740993::int8, '\\xdead'::bytea, '2024-01-02 03:04:05'::timestamp, '{"a":[1]}'::jsonb, 'NaN'::float8, 1.50::numeric`,
    );
    expect(results(r)[0]?.rows[0]).toEqual(['9007199254740993', '\\xdead', '2024-01-02 03:04:05', { a: [1] }, 'NaN', '1.50']);
  });

  it('stops a statement at the statement timeout', async () => {
    const slow = createPostgresConnection({ name: 'slow', url, tags: {}, statementTimeoutMs: 100 });
    try {
      const r = await slow.execute({ sql: 'SELECT pg_sleep(5)' }, { readOnly: true });
      expect(sqlstate(r)).toBe('57014');
    } finally {
      await slow.close();
    }
  });

  it('reports an unreachable server without its URL, host or password', async () => {
    const bad = createPostgresConnection({ name: 'bad', url: 'postgres://postgres:supersecret@127.0.0.1:1/x', tags: {} });
    try {
      const r = await bad.execute({ sql: 'SELECT 1' }, { readOnly: true });
      expect(r.ok).toBe(false);
      expect(r.error).toEqual({ code: 'EXECUTION_FAILED', message: 'could not connect to bad' });
      const text = JSON.stringify(r);
      expect(text).not.toContain('supersecret');
      expect(text).not.toContain('127.0.0.1:1');
    } finally {
      await bad.close();
    }
  });

  it('reports a refused login without the user or password', async () => {
    const bad = createPostgresConnection({
      name: 'bad-login',
      url: url.replace(/\/\/[^@/]*@/, '//nosuchuser:supersecret@'),
      tags: {},
    });
    try {
      const r = await bad.execute({ sql: 'SELECT 1' }, { readOnly: true });
      expect(r.error?.message).toBe('could not connect to bad-login');
      const text = JSON.stringify(r);
      expect(text).not.toContain('supersecret');
      expect(text).not.toContain('nosuchuser');
    } finally {
      await bad.close();
    }
  });
});

describe('maskForAudit of a COPY FROM STDIN', () => {
  const copy = { sha256: 'a'.repeat(64), bytes: 20, lines: 1, preview: '7\talice\thunter2\n' };
  const input = { sql: 'COPY users (id, name, password) FROM STDIN', copy };
  const mask = (v: string) => `hmac:${v.length}`;

  it('keeps no byte of the rows in the log when the connection names secret columns: the preview is an HMAC', async () => {
    await loadSqlParser();
    const conn = createPostgresConnection({ name: 'users-db', url: 'postgres://127.0.0.1:1/x', tags: {}, secretColumns: ['password'] });
    try {
      const masked = conn.maskForAudit!(input, mask) as typeof input;
      expect(masked.copy).toEqual({ ...copy, preview: `hmac:${copy.preview.length}` });
      expect(JSON.stringify(masked)).not.toContain('hunter2');
      expect(input.copy.preview).toContain('hunter2');
    } finally {
      await conn.close();
    }
  });

  it('leaves the preview as it is where the connection names none', async () => {
    const conn = createPostgresConnection({ name: 'plain-db', url: 'postgres://127.0.0.1:1/x', tags: {} });
    try {
      expect(conn.maskForAudit!(input, mask)).toEqual(input);
    } finally {
      await conn.close();
    }
  });
});
