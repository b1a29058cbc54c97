/**
 * The listener with a connection's `sessionCheckCache` on, end to end: a
 * repeated read is served behind the verifier (the session check does not run
 * again on the upstream session), and after another session's DDL the next
 * statement gets the refusal the full check gives, never its result.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDdlEpochSql } from '../../src/adapters/executor/sql/guard-cache.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { client, POLICY } from '../support/pg-wire-clients.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('the Postgres wire listener with sessionCheckCache (real PostgreSQL)', () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(installDdlEpochSql());
    await direct.query("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'One'), (2, 'Two');");
    // pg_prepared_statements, read below to count the checks, calls a function off the built-in allow-list.
    const policy = POLICY.replace('url: ${APP_DB_URL}\n', 'url: ${APP_DB_URL}\n    sessionCheckCache: true\n    readOnlyFunctions: [pg_catalog.pg_prepared_statement]\n');
    expect(policy).toContain('sessionCheckCache: true');
    gw = await startTestGateway(policy, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }', principals: DEFAULT_PRINCIPALS });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
    await db?.drop();
  });

  it('a repeated read runs without the session check; after DDL elsewhere the next one is refused as the full check refuses it', async () => {
    const c = client(gw);
    await c.connect();
    try {
      const plans = async () =>
        (await c.query<{ name: string; n: string }>("SELECT name, (generic_plans + custom_plans)::text AS n FROM pg_catalog.pg_prepared_statements WHERE name IN ('countersign_guard', 'countersign_cache_verify')")).rows;
      const sql = 'SELECT lower(note) AS l FROM t WHERE id = 1';
      expect((await c.query(sql)).rows).toEqual([{ l: 'one' }]);
      await plans();
      const before = await plans();
      expect((await c.query(sql)).rows).toEqual([{ l: 'one' }]);
      const after = await plans();
      const n = (rows: { name: string; n: string }[], name: string) => Number(rows.find((r) => r.name === name)?.n ?? 0);
      expect(n(after, 'countersign_guard')).toBe(n(before, 'countersign_guard'));
      expect(n(after, 'countersign_cache_verify')).toBeGreaterThan(n(before, 'countersign_cache_verify'));

      await direct.query(`CREATE FUNCTION public.lower(int) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'shadow ran'; RETURN 1; END$$`);
      const notices: string[] = [];
      c.on('notice', (m) => notices.push(m.message ?? ''));
      const refused = await c.query(sql).then(
        () => undefined,
        (e: { code?: string; message?: string }) => e,
      );
      expect(refused?.code).toBe('55000');
      expect(refused?.message).toMatch(/function public\.lower is on the search_path\); call it schema-qualified; nothing ran \(request req_/);
      expect(notices).toEqual([]);
      // The session goes on, and once the shadow is gone the read runs again.
      await direct.query('DROP FUNCTION public.lower(int)');
      expect((await c.query(sql)).rows).toEqual([{ l: 'one' }]);
    } finally {
      await c.end();
    }
  });
  // A REPEATABLE READ block reads the catalogs through its snapshot, taken at its first statement, while the server
  // resolves names in the latest catalogs: a function created elsewhere after that snapshot was invisible to a check run
  // in the block (full or cached), yet it was what `upper(v)` called. Such blocks run nothing but transaction control.
  it('in a client REPEATABLE READ or SERIALIZABLE block, a read is refused by the full check and behind a cached verdict', async () => {
    await direct.query("CREATE TABLE rr (id int PRIMARY KEY, v varchar); INSERT INTO rr VALUES (1, 'x')");
    const c = client(gw);
    await c.connect();
    const refusal = (sql: string) => c.query(sql).then(() => undefined, (e: { code?: string; message?: string }) => e);
    try {
      // A verdict for upper(v) is cached outside a block.
      expect((await c.query('SELECT upper(v) AS u FROM rr WHERE id = 1')).rows).toEqual([{ u: 'X' }]);
      expect((await c.query('SELECT upper(v) AS u FROM rr WHERE id = 1')).rows).toEqual([{ u: 'X' }]);
      for (const [begin, sql] of [
        ['BEGIN ISOLATION LEVEL REPEATABLE READ', 'SELECT upper(v) AS u FROM rr WHERE id = 1'],
        ['BEGIN ISOLATION LEVEL REPEATABLE READ', 'SELECT initcap(v) AS u FROM rr WHERE id = 1'],
        ['BEGIN ISOLATION LEVEL SERIALIZABLE', 'SELECT upper(v) AS u FROM rr WHERE id = 1'],
      ] as const) {
        await c.query(begin);
        const refused = await refusal(sql);
        expect(refused?.code).toBe('55000');
        expect(refused?.message).toMatch(/in a (REPEATABLE READ|SERIALIZABLE) transaction block the session check reads the catalogs as of the block's snapshot/);
        await c.query('ROLLBACK');
      }
      // A READ COMMITTED block (each statement sees the latest catalogs) runs it, and still sees a shadow made meanwhile.
      await c.query('BEGIN');
      expect((await c.query('SELECT upper(v) AS u FROM rr WHERE id = 1')).rows).toEqual([{ u: 'X' }]);
      await direct.query(`CREATE FUNCTION public.upper(varchar) RETURNS text LANGUAGE sql AS $$SELECT 'shadow'$$`);
      expect((await refusal('SELECT upper(v) AS u FROM rr WHERE id = 1'))?.message).toMatch(/function public\.upper is on the search_path/);
      await c.query('ROLLBACK');
    } finally {
      await c.end();
      await direct.query('DROP FUNCTION IF EXISTS public.upper(varchar)');
    }
  });
  // A credential catalog is refused by the full check, and so never gets a cached verdict; a view that showed none when
  // its verdict was cached and is replaced by one that does is DDL, which the verifier sees.
  it('a read of a credential catalog is refused on every try, and a cached view replaced by one over pg_authid is refused', async () => {
    await direct.query('CREATE VIEW who AS SELECT rolname::text AS r FROM pg_catalog.pg_roles');
    const c = client(gw);
    await c.connect();
    const refusal = (sql: string) => c.query(sql).then(() => undefined, (e: { code?: string; message?: string }) => e);
    try {
      for (let i = 0; i < 2; i++) {
        const refused = await refusal('SELECT rolpassword FROM pg_catalog.pg_authid');
        expect(refused?.code).toBe('55000');
        expect(refused?.message).toContain('pg_catalog.pg_authid, which holds credentials');
      }
      const sql = "SELECT count(*)::int AS n FROM who WHERE r = current_user";
      expect((await c.query(sql)).rows).toEqual([{ n: 1 }]);
      expect((await c.query(sql)).rows).toEqual([{ n: 1 }]);
      await direct.query('CREATE OR REPLACE VIEW who AS SELECT rolpassword AS r FROM pg_catalog.pg_authid');
      const refused = await refusal(sql);
      expect(refused?.code).toBe('55000');
      expect(refused?.message).toContain('pg_catalog.pg_authid, which holds credentials');
    } finally {
      await c.end();
    }
  });
  // The gateway's COMMIT ends the statement's transaction; when the COMMIT itself fails (a deferred constraint), nothing
  // was written and the client must hear so, not the statement's own success.
  it('a statement whose COMMIT fails is reported failed, over the simple and the extended protocol', async () => {
    await direct.query('CREATE TABLE notes (id int PRIMARY KEY, ref int REFERENCES notes (id) DEFERRABLE INITIALLY DEFERRED)');
    const c = client(gw);
    await c.connect();
    try {
      const simple = await c.query('INSERT INTO notes VALUES (1, 99)').then(() => undefined, (e: { code?: string }) => e);
      expect(simple?.code).toBe('23503');
      const extended = await c.query('INSERT INTO notes VALUES ($1, $2)', [2, 99]).then(() => undefined, (e: { code?: string }) => e);
      expect(extended?.code).toBe('23503');
      expect((await direct.query('SELECT count(*)::int AS n FROM notes')).rows).toEqual([{ n: 0 }]);
      // The session goes on.
      await c.query('INSERT INTO notes VALUES (3, 3)');
      expect((await direct.query('SELECT id FROM notes')).rows).toEqual([{ id: 3 }]);
      // The requests say so too (newest first), as the agent's human sees them.
      const requests = (await gw.as('carol', '/v1/requests?limit=10')).body.requests as { status: string; action: { input: { sql: string } } }[];
      expect(requests.filter((r) => r.action.input.sql.startsWith('INSERT INTO notes')).map((r) => r.status)).toEqual(['succeeded', 'failed', 'failed']);
    } finally {
      await c.end();
    }
  });
});
