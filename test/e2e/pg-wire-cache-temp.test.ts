/**
 * The Postgres wire listener with `sessionCheckCache`: a session's temporary
 * objects go without a DDL signal (DISCARD TEMP, ON COMMIT DROP fire no event
 * trigger), so a verdict cached while a temporary table hid a real one must
 * not be reused once it is gone.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDdlEpochSql } from '../../src/adapters/executor/sql/guard-cache.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const cached = await createTestDatabase();

afterAll(async () => {
  await cached?.drop();
});

/**
 * A cached verdict of the session check (`sessionCheckCache`) is reused while no DDL signal moved; but a session's
 * temporary objects also go without one: `DISCARD TEMP`, and a table `ON COMMIT DROP` at the end of its transaction,
 * fire no event trigger. A read judged while a temporary `orders` hid the real one must not be reused once it is gone.
 */
describe.skipIf(!cached)('the Postgres wire listener with sessionCheckCache: temporary objects dropped without a DDL signal', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: cached!.url });
    await direct.connect();
    await direct.query(installDdlEpochSql());
    // The real orders is a view that calls a function with an effect the read-only transaction does not stop (a NOTICE here).
    await direct.query(`CREATE FUNCTION public.spy() RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'spy ran'; RETURN 1; END$$;
      CREATE VIEW orders AS SELECT public.spy() AS id`);
    // An operator who lets agents make and drop scratch tables of their own.
    const policy = ATTACK_POLICY.replace('url: ${APP_DB_URL}\n', 'url: ${APP_DB_URL}\n    sessionCheckCache: true\n').replace(
      'rules:\n',
      'rules:\n    - id: scratch\n      when: facts.sql.statements.all(s, s.type in ["create", "discard"])\n      effect: allow\n',
    );
    expect(policy).toContain('sessionCheckCache: true');
    gw = await startTestGateway(policy, { env: { APP_DB_URL: cached!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  for (const [how, create, drop] of [
    ['DISCARD TEMP', ['CREATE TEMP TABLE orders (id int)'], ['DISCARD TEMP']],
    ['ON COMMIT DROP', ['BEGIN', 'CREATE TEMP TABLE orders (id int) ON COMMIT DROP'], ['COMMIT']],
  ] as const) {
    it(`${how}: the read of the real orders after it gets the full check (55000), not the verdict cached for the temporary one`, async () => {
      const c = await Raw.open(gw);
      try {
        const read = 'SELECT id FROM orders';
        for (const sql of create) {
          c.send(serialize.query(sql));
          expect(errors(await c.until('readyForQuery'))).toEqual([]);
        }
        // Twice: the second is served behind the cached verdict.
        for (let i = 0; i < 2; i++) {
          c.send(serialize.query(read));
          expect(errors(await c.until('readyForQuery'))).toEqual([]);
        }
        for (const sql of drop) {
          c.send(serialize.query(sql));
          expect(errors(await c.until('readyForQuery'))).toEqual([]);
        }
        c.send(serialize.query(read));
        const answer = await c.until('readyForQuery');
        expect(errors(answer)).toEqual(['55000']);
        expect(answer.filter((m) => m.name === 'notice').map((m) => m.message)).not.toContain('spy ran');
        expect(answer.find((m) => m.name === 'error')!.message).toContain('public.spy');
      } finally {
        c.end();
      }
    });
  }
});
