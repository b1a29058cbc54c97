/**
 * `server.maxPendingPerPrincipal` on the Postgres wire listener: a held
 * statement past the cap is refused with 53400 (configuration_limit_exceeded,
 * to send again later), nothing is recorded, and the session goes on.
 */
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, errors, Raw } from '../support/pg-raw.ts';
import { requests } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!db)('the Postgres wire listener: held statements past the pending cap', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'maxPendingPerPrincipal: 1, postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('the first is held; the next is refused with 53400 and not recorded; a read still runs', { timeout: 60_000 }, async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.query("UPDATE pg_class SET relname = relname WHERE relname = 'none_1'"));
      const first = await c.until('readyForQuery');
      expect(errors(first)).not.toContain('53400');
      const before = (await requests(gw)).length;
      c.send(serialize.query("UPDATE pg_class SET relname = relname WHERE relname = 'none_2'"));
      const second = await c.until('readyForQuery');
      expect(errors(second)).toEqual(['53400']);
      expect(second.find((m) => m.name === 'error')?.message).toMatch(/maxPendingPerPrincipal/);
      expect((await requests(gw)).length).toBe(before);
      c.send(serialize.query('SELECT 1 AS one'));
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
    } finally {
      c.end();
    }
  });
});
