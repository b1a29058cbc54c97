/**
 * `countersign run --sql` against a real PostgreSQL database through a real
 * gateway: rows as a table, a held write run once after a human approves over
 * REST, an error upstream as the failed code, and a row's ANSI escapes shown
 * as text.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_EXIT } from '../../src/cli/run-exit.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { heldId, runCli, type RunCli } from '../support/run-cli.ts';

const db = await createTestDatabase();

let gw: TestGateway;
let cli: RunCli;

describe.skipIf(!db)('countersign run on a postgres connection', () => {
  beforeAll(async () => {
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    await c.query(`CREATE TABLE t (id int PRIMARY KEY, note text, n int NOT NULL DEFAULT 0);
      INSERT INTO t (id, note) VALUES (1, 'one'), (2, NULL), (10, E'\\x1b[2J\\x1b[31mowned\\u009b');`);
    await c.end();
    gw = await startTestGateway(
      `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: db-reads
      when: facts.sql.readOnly
      effect: allow
    - id: db-writes
      when: facts.sql.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
      { env: { APP_DB_URL: db!.url } },
    );
    cli = runCli({ url: gw.url, key: gw.keys['deploy-bot']!, credentials: join(gw.dir, 'no-credentials.json') });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  it('an allowed SELECT prints a table and exits 0', async () => {
    const r = await cli.run(['app-db', '--sql', 'SELECT id, note FROM t WHERE id < 10 ORDER BY id', '--reason', 'look']);
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(r.stdout).toBe([' id | note ', '----+------', '  1 | one  ', '  2 |      ', '(2 rows)', ''].join('\n'));
    expect(r.stderr).toBe('');
  });

  it('a row holding ANSI escapes is printed harmlessly', async () => {
    const r = await cli.run(['app-db', '--sql', 'SELECT note FROM t WHERE id = 10', '--reason', 'look']);
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('\\x1b[2J\\x1b[31mowned\\x9b');
  });

  it('--json: the rows as the gateway returns them', async () => {
    const r = await cli.run(['app-db', '--sql', 'SELECT id FROM t ORDER BY id', '--reason', 'look', '--json']);
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'succeeded', result: { results: [{ command: 'SELECT', fields: ['id'], rows: [[1], [2], [10]] }] } });
  });

  it('a held UPDATE runs once after approval and prints its command tag', async () => {
    const r = cli.start(['app-db', '--sql', 'UPDATE t SET n = n + 1 WHERE id = 1', '--reason', 'bump']);
    const id = await heldId(r, gw);
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const end = await r.done;
    expect(end.code).toBe(RUN_EXIT.succeeded);
    expect(end.stdout).toBe('UPDATE 1\n');
    const after = await cli.run(['app-db', '--sql', 'SELECT n FROM t WHERE id = 1', '--reason', 'check', '--json']);
    expect(JSON.parse(after.stdout).result.results[0].rows).toEqual([[1]]);
  });

  it('an SQL error upstream: the failed code, with the SQLSTATE', async () => {
    const r = await cli.run(['app-db', '--sql', 'SELECT id / 0 FROM t', '--reason', 'oops']);
    expect(r.code).toBe(RUN_EXIT.failed);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/request req_\S+ failed: EXECUTION_FAILED: postgres 22012: division by zero/);
  });
});
