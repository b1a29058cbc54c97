/**
 * A Bind's parameters are part of the action (its input, digest, request row
 * and audit event) and were bounded only by the message size (64 MiB): one
 * read with an 8 MB text parameter added about 34 MB to the store, whether it
 * ran or was refused, and held every other session's statements while it was
 * digested and recorded. Its parameters may now have at most as many
 * characters in all as an action's SQL (1,000,000), over the wire listener
 * (refused at the Bind, 54000, nothing recorded) and REST (INVALID_INPUT) alike.
 */
import { statSync } from 'node:fs';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

describe.skipIf(!db)("a statement's parameters are bounded as its SQL is", () => {
  let gw: TestGateway;
  const requests = async () => ((await gw.as('deploy-bot', '/v1/requests?limit=100')).body as { requests?: unknown[] }).requests?.length ?? 0;

  beforeAll(async () => {
    gw = await startTestGateway(ATTACK_POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });
  afterAll(async () => gw?.stop());

  it('over the wire listener: a Bind whose parameters hold more is refused (54000), nothing recorded; the session goes on', async () => {
    const c = await Raw.open(gw);
    try {
      const before = await requests();
      const size = statSync(gw.dbPath).size;
      c.send(
        serialize.parse({ text: 'SELECT length($1) + length($2)' }),
        serialize.bind({ values: ['x'.repeat(600_000), 'y'.repeat(400_001)] }),
        serialize.execute({}),
        serialize.sync(),
      );
      expect(errors(await c.until('readyForQuery'))).toEqual(['54000']);
      expect(await requests()).toBe(before);
      expect(statSync(gw.dbPath).size - size).toBeLessThan(1_000_000);
      // At the bound, it runs.
      c.send(serialize.parse({ text: 'SELECT length($1) + length($2)' }), serialize.bind({ values: ['x'.repeat(600_000), 'y'.repeat(400_000)] }), serialize.execute({}), serialize.sync());
      const ok = await c.until('readyForQuery');
      expect(errors(ok)).toEqual([]);
      expect(rowsOf(ok)).toEqual([['1000000']]);
    } finally {
      c.end();
    }
  }, 60_000);

  it('over REST: more is INVALID_INPUT, nothing recorded', async () => {
    const before = await requests();
    const r = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql: 'SELECT length($1)', params: ['x'.repeat(1_000_001)] }, reason: 'e2e' } });
    expect(r.status).not.toBe(200);
    expect(JSON.stringify(r.body)).toMatch(/INVALID_INPUT|PAYLOAD_TOO_LARGE|too large/);
    expect(await requests()).toBe(before);
  }, 60_000);
});
