/**
 * How the listener writes to its client (client-output.ts): a statement's
 * answers are held for its ReadyForQuery, but a large result still streams
 * in bounded pieces, a client that does not read holds the upstream back,
 * and a held statement's NOTICE arrives before its wait.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { POLICY } from '../support/pg-wire-clients.ts';
import { cancelRequest, errors, Raw, rowsOf } from '../support/pg-raw.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

describe.skipIf(!db)('what the Postgres wire listener writes to its client', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(`CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'one');`);
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  it('rows of a result reach the client while the statement still runs (they are not held for its end)', async () => {
    const raw = await Raw.open(gw);
    try {
      // About 1 MB of rows, then a sleep the statement never finishes: only a CancelRequest ends it.
      raw.send(serialize.query("SELECT repeat('x', 500) AS r FROM generate_series(1, 2000) UNION ALL SELECT pg_sleep(600)::text"));
      // Held for the statement's end, no row would come: the test would fail on its timeout.
      const seen: unknown[] = [];
      while (seen.length < 1000) seen.push(...rowsOf(await raw.until('dataRow')));
      await cancelRequest(gw.postgresPort!, raw.key.pid, raw.key.secret);
      const rest = await raw.until('readyForQuery');
      expect(seen.length + rowsOf(rest).length).toBe(2000);
      expect(errors(rest)).toEqual(['57014']);
    } finally {
      raw.end();
    }
  });

  it('a held statement\'s NOTICE arrives before its wait ends: the client sees it while the request is pending', async () => {
    const raw = await Raw.open(gw);
    try {
      raw.send(serialize.query("UPDATE t SET note = 'held' WHERE id = 1"));
      const notice = (await raw.until('notice')).at(-1) as unknown as { message: string };
      const id = /request (req_[a-z0-9]+)/.exec(notice.message)![1]!;
      // Only now, with the NOTICE in hand, is the statement approved.
      expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('pending');
      expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
      const answer = await raw.until('readyForQuery');
      expect(answer.find((m) => m.name === 'commandComplete')).toMatchObject({ text: 'UPDATE 1' });
      expect((await direct.query('SELECT note FROM t WHERE id = 1')).rows).toEqual([{ note: 'held' }]);
    } finally {
      raw.end();
    }
  });

  it('a client that stops reading a 50 MB result: the server waits to send (ClientWrite), and the client reading on gets it whole', async () => {
    const raw = await Raw.open(gw);
    try {
      const sql = "SELECT repeat('x', 1000) AS r FROM generate_series(1, 50000)";
      raw.socket.pause();
      raw.send(serialize.query(sql));
      // The server's backend blocks on sending to the gateway (ClientWrite): the relay stops reading the upstream while
      // the client has not read what it was sent (wire-relay.test.ts shows the pause itself).
      await eventually(async () => ((await direct.query("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'ClientWrite' AND query = $1", [sql])).rowCount ? true : undefined), 20_000);
      raw.socket.resume();
      const answer = await raw.until('readyForQuery');
      expect(errors(answer)).toEqual([]);
      expect(rowsOf(answer)).toHaveLength(50_000);
      expect(answer.find((m) => m.name === 'commandComplete')).toMatchObject({ text: 'SELECT 50000' });
    } finally {
      raw.end();
    }
  });
});
