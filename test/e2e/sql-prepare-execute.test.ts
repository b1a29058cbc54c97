/**
 * A PREPARE's statement was listed as a definition, to be judged when it runs:
 * but over REST one string may PREPARE and EXECUTE it, and then it runs there,
 * unseen by the facts. `PREPARE p AS DELETE …; EXECUTE p` escaped a rule that
 * denies deletes and was merely held as a write; approved, it deleted. Now a
 * PREPARE the same string EXECUTEs lists the write it runs. (The wire listener
 * refuses SQL-level EXECUTE outright.)
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { readsPolicy } from '../support/sql-by-type.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

const POLICY = readsPolicy(`    - id: no-deletes
      when: facts.sql.statements.exists(s, s.type == "delete")
      effect: deny
      message: agents do not delete
    - id: writes
      when: facts.sql.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`);

describe.skipIf(!db)('a PREPARE executed in the same string is judged by what it runs', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)');
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url } });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it.each(['PREPARE p AS DELETE FROM t WHERE id = 1; EXECUTE p', 'PREPARE p AS DELETE FROM t WHERE id = 1; EXPLAIN ANALYZE EXECUTE p'])('%s is denied as the delete it runs', async (sql) => {
    const r = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql }, reason: 'e2e' } });
    expect(r.status).toBe(403);
    expect((r.body as { request: { status: string } }).request.status).toBe('denied');
    expect(JSON.stringify(r.body)).toContain('agents do not delete');
    expect((await direct.query('SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: 2 });
  });
});
