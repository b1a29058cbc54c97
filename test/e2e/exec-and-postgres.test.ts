/**
 * The exec and Postgres kinds end to end: argv runs verbatim without a
 * shell; SQL facts come from the real parser, reads run READ ONLY on the real
 * server, an approved write lands exactly once, a DROP never runs.
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { counts, requestStatus } from '../support/sqlite.ts';

const act = (g: TestGateway, connection: string, input: unknown) => g.as('deploy-bot', '/v1/actions', { body: { connection, input, reason: 'e2e' } });

describe('exec', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(`connections:
  - name: echo
    kind: exec
    command: /bin/echo
  - name: ls
    kind: exec
    command: /bin/ls
policy:
  default: deny
  rules:
    - id: tools
      when: connection.kind == "exec" && facts.exec.subcommand != "forbidden"
      effect: allow
`);
  });
  afterAll(() => gw?.stop());

  it('passes argv verbatim, with no shell: metacharacters come back as text', async () => {
    const marker = `/tmp/cs-e2e-${process.pid}-never`;
    const args = ['hello', `; touch ${marker}`, '$(id)', '`whoami`', '&& echo pwned', '*', '$HOME'];
    const res = await act(gw, 'echo', { args });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result).toMatchObject({ exitCode: 0, signal: null, stdout: `${args.join(' ')}\n`, stderr: '' });
    expect(res.body.facts.exec).toEqual({ argv: ['/bin/echo', ...args], command: 'echo', subcommand: 'hello' });
    expect(existsSync(marker)).toBe(false);
  });

  it('names the sub-command only when it comes first, so an option value cannot pose as one', async () => {
    const plain = await act(gw, 'echo', { args: ['forbidden', 'x'] });
    expect(plain.status).toBe(403);
    expect(plain.body.request.facts.exec).toMatchObject({ subcommand: 'forbidden', argv: ['/bin/echo', 'forbidden', 'x'] });

    // `-n get delete`: is `get` the subcommand, or the value of -n? Without the tool's grammar nobody knows,
    // so the fact is empty and a rule keyed on a subcommand does not match.
    const flagged = await act(gw, 'echo', { args: ['-n', 'forbidden', 'x'] });
    expect(flagged.body.facts?.exec ?? flagged.body.request?.facts.exec).toMatchObject({ subcommand: '', argv: ['/bin/echo', '-n', 'forbidden', 'x'] });
  });

  it('reports a non-zero exit as failed, with the exit code and stderr', async () => {
    const res = await act(gw, 'ls', { args: ['/definitely/not/here'] });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('EXECUTION_FAILED');
    expect(res.body.result.exitCode).toBeGreaterThan(0);
    expect(res.body.result.stderr).toContain('/definitely/not/here');
    expect(requestStatus(gw.dbPath, res.body.id)).toBe('failed');
  });
});

const db = await createTestDatabase();

describe.skipIf(!db)('postgres', () => {
  let gw: TestGateway;
  let client: pg.Client;
  const value = async (id: number) => (await client.query<{ n: number }>('SELECT n FROM t WHERE id = $1', [id])).rows[0]?.n;
  const tableCount = async () => Number((await client.query<{ c: string }>('SELECT count(*) AS c FROM t')).rows[0]!.c);

  beforeAll(async () => {
    client = new pg.Client({ connectionString: db!.url });
    await client.connect();
    await client.query(`CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, note text);
      INSERT INTO t (id, n, note) VALUES (1, 0, 'one'), (2, 0, 'two'), (3, 0, 'three');
      CREATE FUNCTION sneaky() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t (id, note) VALUES (99, 'sneaky'); RETURN 1; END $$;`);
    gw = await startTestGateway(
      `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
    tags: { env: prod }
    # Declared read-only by mistake: the READ ONLY transaction still stops its write.
    readOnlyFunctions: [public.sneaky]
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "app-db" && facts.sql.readOnly
      effect: allow
    - id: writes
      when: connection.name == "app-db" && facts.sql.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: no-drops
      when: facts.sql.statements.exists(s, s.type == "drop")
      effect: deny
      message: tables are never dropped by agents
`,
      { env: { APP_DB_URL: db!.url } },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await client?.end();
    await db?.drop();
  });

  it('runs a read allowed by facts.sql.readOnly and returns the rows', async () => {
    const res = await act(gw, 'app-db', { sql: 'SELECT id, note FROM t WHERE id <= $1 ORDER BY id', params: [2] });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.decision.rules).toEqual(['reads']);
    expect(res.body.facts.sql).toMatchObject({ readOnly: true, tables: ['t'] });
    expect(res.body.result.results[0]).toMatchObject({ command: 'SELECT', fields: ['id', 'note'], rows: [[1, 'one'], [2, 'two']] });
  });

  it('holds an UPDATE until alice approves, then changes the row exactly once', async () => {
    const held = await act(gw, 'app-db', { sql: 'UPDATE t SET n = n + 1 WHERE id = 1' });
    expect(held.status).toBe(202);
    expect(held.body.facts.sql).toMatchObject({ readOnly: false, writes: true, statements: [{ type: 'update', tables: ['t'], hasWhere: true }] });
    expect(await value(1)).toBe(0);

    const ok = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(ok.status).toBe(200);
    const final = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${held.body.id}`);
      return ['succeeded', 'failed'].includes(r.body.status) ? r.body : undefined;
    });
    expect(final.status).toBe('succeeded');
    expect(final.result.results[0]).toMatchObject({ command: 'UPDATE', rowCount: 1 });
    expect(await value(1)).toBe(1);
    const late = await gw.as('bob', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(late.status).toBe(409);
    expect(await value(1)).toBe(1);
  });

  it('denies DROP TABLE by its statement type, and the table is still there', async () => {
    const res = await act(gw, 'app-db', { sql: 'DROP TABLE t' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'POLICY_DENIED', message: 'tables are never dropped by agents' });
    expect(res.body.error.rules).toContain('no-drops');
    expect(await tableCount()).toBe(3);
  });

  it('refuses SQL that does not parse with 422 INPUT_UNPARSEABLE and records nothing', async () => {
    const before = counts(gw.dbPath);
    const res = await act(gw, 'app-db', { sql: 'SELEC * FORM t WHERE' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(counts(gw.dbPath)).toEqual(before);
  });

  it('treats a DELETE inside a CTE as a write: held, not allowed by the read rule', async () => {
    const res = await act(gw, 'app-db', { sql: 'WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending');
    expect(res.body.decision.rules).toEqual(['writes']);
    expect(res.body.facts.sql.readOnly).toBe(false);
    expect(await tableCount()).toBe(3);
  });

  it('holds a SELECT calling a function not known to be read-only, as a write', async () => {
    const res = await act(gw, 'app-db', { sql: 'SELECT sneaky()' });
    expect(res.status).toBe(202);
    expect(res.body.decision.rules).toEqual(['writes']);
    expect(res.body.facts.sql).toMatchObject({ readOnly: false, functions: ['pg_catalog.sneaky'] });
    expect(await tableCount()).toBe(3);
  });

  it('runs an allowed read READ ONLY, so a function wrongly declared read-only is refused by Postgres', async () => {
    const res = await act(gw, 'app-db', { sql: 'SELECT public.sneaky()' });
    expect(res.status).toBe(200);
    expect(res.body.decision.rules).toEqual(['reads']);
    expect(res.body.facts.sql.functions).toEqual(['public.sneaky']);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('EXECUTION_FAILED');
    expect(res.body.result.sqlstate).toBe('25006'); // read_only_sql_transaction
    expect(await tableCount()).toBe(3);
    expect(JSON.stringify(res.body)).not.toContain(db!.url);
  });
});
