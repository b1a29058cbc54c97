/**
 * Execution binds to the digest, not to the row: an approved wire statement
 * whose stored action was changed afterwards (a restore, a hand edit of the
 * store) is refused with DIGEST_MISMATCH when its statement is sent again, and
 * neither the changed nor the approved statement reaches the database.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { approve, client, POLICY, requests } from '../support/pg-wire-clients.ts';
import { auditEvents, requestStatus } from '../support/sqlite.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

describe.skipIf(!db)('an approved wire statement whose stored action changed', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const count = async () => (await direct.query('SELECT n FROM counter')).rows[0].n as number;
  const send = async (sql: string) => {
    const c = client(gw, 'deploy-bot');
    await c.connect();
    try {
      return await c.query(sql).then((r) => ({ rowCount: r.rowCount as number | null, code: undefined as string | undefined }), (e: pg.DatabaseError) => ({ rowCount: null, code: e.code }));
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query('CREATE TABLE counter (n int); INSERT INTO counter VALUES (0);');
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 1 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('is refused DIGEST_MISMATCH when resumed, and nothing runs', async () => {
    const sql = 'UPDATE counter SET n = n + 1';
    expect((await send(sql)).code).toBe('CS001');
    const held = (await requests(gw, 'pending')).find((q) => q.action.input.sql === sql)!;
    await approve(gw, held.id);
    const file = new Database(gw.dbPath, { fileMustExist: true });
    file.pragma('busy_timeout = 5000');
    file.prepare(`UPDATE requests SET record = json_set(record, '$.action.input.sql', 'UPDATE counter SET n = n + 100') WHERE id = ?`).run(held.id);
    file.close();

    const resumed = await send(sql);
    expect(resumed.rowCount).toBeNull();
    expect(requestStatus(gw.dbPath, held.id)).toBe('denied');
    const last = auditEvents(gw.dbPath, held.id).at(-1)!;
    expect(last).toMatchObject({ type: 'request.denied', data: { code: 'DIGEST_MISMATCH' } });
    expect(await count()).toBe(0);
  });
});
