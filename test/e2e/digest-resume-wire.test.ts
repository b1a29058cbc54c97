/**
 * One approval of a wire statement runs once: the identical statement sent
 * again after approval, on two sessions at once, claims it once; sent again
 * after it ran, it is a new action to approve, never the old approval again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { approve, client, POLICY, requests, statusOf } from '../support/pg-wire-clients.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

describe.skipIf(!db)('a held wire statement sent again after approval', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const count = async () => (await direct.query('SELECT n FROM counter')).rows[0].n as number;
  const send = async (sql: string) => {
    const c = client(gw, 'deploy-bot');
    await c.connect();
    try {
      return await c.query(sql).then((r) => ({ rowCount: r.rowCount, code: undefined as string | undefined, message: '' }), (e: pg.DatabaseError) => ({ rowCount: null, code: e.code, message: e.message }));
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

  it('on two sessions at once runs once; sent after it ran, it is held anew and the old approval runs nothing', async () => {
    const sql = 'UPDATE counter SET n = n + 1';
    const first = await send(sql);
    expect(first.code).toBe('CS001');
    const held = (await requests(gw, 'pending')).find((q) => q.action.input.sql === sql)!;
    await approve(gw, held.id);

    const both = await Promise.all([send(sql), send(sql)]);
    await eventually(async () => ((await statusOf(gw, held.id)) === 'succeeded' ? true : undefined));
    expect(await count()).toBe(1);
    // One session ran it. The other, by when its statement came: told the approval ran (or is running) in the other
    // session, or, after the run had ended, held as a new action; never a second run.
    expect(both.filter((b) => b.rowCount === 1)).toHaveLength(1);
    const loser = both.find((b) => b.rowCount !== 1)!;
    expect(loser.code).toBe('CS001');
    expect(loser.message).toMatch(new RegExp(`^(request ${held.id} (already ran|is running) in another session of yours|held for approval as request (?!${held.id})req_)`));

    // After it ran: the same statement is held as a new request; the approval is used up.
    const again = await send(sql);
    expect(again.code).toBe('CS001');
    const mine = (await requests(gw)).filter((q) => q.action.input.sql === sql);
    expect(mine.filter((q) => q.status === 'succeeded').map((q) => q.id)).toEqual([held.id]);
    expect(mine.filter((q) => q.status === 'pending')).toHaveLength(1);
    expect(await count()).toBe(1);
  });

  it('sent again while the approval runs in another session: told it is running there, and no second request is made', async () => {
    const sql = 'UPDATE counter SET n = n + 10 FROM (SELECT pg_sleep(2)) AS s';
    expect((await send(sql)).code).toBe('CS001');
    const held = (await requests(gw, 'pending')).find((q) => q.action.input.sql === sql)!;
    await approve(gw, held.id);
    const first = send(sql);
    await eventually(async () => ((await statusOf(gw, held.id)) === 'executing' ? true : undefined));
    const during = await send(sql);
    expect(await first).toMatchObject({ rowCount: 1 });
    expect(during.code).toBe('CS001');
    expect(during.message).toBe(`request ${held.id} is running in another session of yours`);
    expect((await requests(gw)).filter((q) => q.action.input.sql === sql).map((q) => q.id)).toEqual([held.id]);
    expect(await count()).toBe(11);
  });
});
