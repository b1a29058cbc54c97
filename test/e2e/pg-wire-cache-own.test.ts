/**
 * The session check cache against the agent's own session: a policy allowing
 * creates, alters and drops by type lets the agent run DDL through the
 * gateway, as the database role the gateway connects as. Whatever that DDL
 * does to the counter the cache trusts (a rule or trigger that turns its
 * update into nothing, a child table holding its row, a view in its place),
 * a statement the full check refuses is refused after it, never run behind
 * a cached verdict. Nor can that DDL make an object of the agent's an
 * installed extension's, which the check leaves to the operator.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDdlEpochSql } from '../../src/adapters/executor/sql/guard-cache.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { client } from '../support/pg-wire-clients.ts';
import { byTypePolicy, sqlAction } from '../support/sql-by-type.ts';

const db = await createTestDatabase();

describe.skipIf(!db)("sessionCheckCache and DDL in the agent's own session (real PostgreSQL)", () => {
  let gw: TestGateway;
  let direct: pg.Client;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query(installDdlEpochSql());
    await direct.query(`CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);
      CREATE VIEW v AS SELECT id FROM t;
      CREATE FUNCTION public.leak(x int) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'leak ran'; RETURN x; END$$;`);
    const policy = byTypePolicy(['create', 'alter', 'drop', 'insert', 'delete']).replace('url: ${APP_DB_URL}\n', 'url: ${APP_DB_URL}\n    sessionCheckCache: true\n');
    expect(policy).toContain('sessionCheckCache: true');
    gw = await startTestGateway(policy, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 30 }', principals: DEFAULT_PRINCIPALS });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
    await db?.drop();
  });

  const tampering: { name: string; sql: string; undo: string }[] = [
    { name: 'a rule doing nothing instead of the update', sql: 'CREATE RULE frozen AS ON UPDATE TO countersign.ddl_epoch DO INSTEAD NOTHING', undo: 'DROP RULE frozen ON countersign.ddl_epoch' },
    {
      name: 'a trigger skipping the update',
      sql: `CREATE FUNCTION public.skip() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
        CREATE TRIGGER frozen BEFORE UPDATE ON countersign.ddl_epoch FOR EACH ROW EXECUTE FUNCTION public.skip()`,
      undo: 'DROP TRIGGER frozen ON countersign.ddl_epoch; DROP FUNCTION public.skip()',
    },
    {
      name: 'its row moved to a child table whose updates are skipped',
      sql: `CREATE FUNCTION public.skip() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
        CREATE TABLE countersign.child () INHERITS (countersign.ddl_epoch);
        CREATE TRIGGER frozen BEFORE UPDATE ON countersign.child FOR EACH ROW EXECUTE FUNCTION public.skip();
        INSERT INTO countersign.child SELECT * FROM countersign.ddl_epoch;
        DELETE FROM ONLY countersign.ddl_epoch`,
      undo: 'INSERT INTO countersign.ddl_epoch SELECT * FROM countersign.child; DROP TABLE countersign.child; DROP FUNCTION public.skip()',
    },
  ];

  for (const t of tampering) {
    it(`${t.name}: the view replaced after it is refused as the full check refuses it, and leak() never runs`, async () => {
      const c = client(gw);
      await c.connect();
      const refusal = (sql: string) => c.query(sql).then(() => undefined, (e: { code?: string; message?: string }) => e);
      const notices: string[] = [];
      c.on('notice', (m) => notices.push(m.message ?? ''));
      const sql = 'SELECT id FROM v';
      try {
        expect((await c.query(sql)).rows).toEqual([{ id: 1 }]);
        expect((await c.query(sql)).rows).toEqual([{ id: 1 }]);
        // Each statement on its own, as the agent sends them.
        for (const s of t.sql.split(/;\s*(?=CREATE|INSERT|DELETE)/)) await c.query(s);
        await c.query(sql);
        await c.query('CREATE OR REPLACE VIEW v AS SELECT public.leak(id) AS id FROM t');
        const refused = await refusal(sql);
        expect(refused?.code).toBe('55000');
        expect(refused?.message).toContain('public.leak');
        expect(notices).toEqual([]);
      } finally {
        await c.end();
        await direct.query(`CREATE OR REPLACE VIEW v AS SELECT id FROM t; ${t.undo}`);
      }
    });
  }

  // The check leaves the casts, operator families, range types and domains of installed extensions to the operator:
  // membership is DDL too, and the gateway's role may own an extension (plpgsql is in every database).
  it('the agent cannot make its cast an installed extension\'s under a rule allowing alters, and a read that would run it is refused, over REST and the wire', async () => {
    const ddl = [
      'CREATE TYPE mood AS ENUM (\'ok\')',
      "CREATE FUNCTION public.mood_int(m mood) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'leak ran'; RETURN 1; END$$",
      'CREATE CAST (public.mood AS int) WITH FUNCTION public.mood_int(mood)',
      'CREATE TABLE moods (m mood)',
      "INSERT INTO moods VALUES ('ok')",
    ];
    try {
      for (const sql of ddl) expect((await sqlAction(gw, sql)).status, sql).toBe(200);
      // Not an alter: a rule allowing alters by type does not let the agent make its cast an extension's.
      const member = await sqlAction(gw, 'ALTER EXTENSION plpgsql ADD CAST (mood AS int)');
      expect(member.status).toBe(403);
      expect(member.body.error.code).toBe('POLICY_DENIED');
      expect((await direct.query("SELECT count(*)::int AS n FROM pg_depend WHERE classid = 'pg_cast'::regclass AND deptype = 'e' AND objid = (SELECT oid FROM pg_cast WHERE castsource = 'mood'::regtype)")).rows).toEqual([{ n: 0 }]);
      const rest = await sqlAction(gw, 'SELECT m::int AS n FROM moods');
      expect(rest.status).toBe(200);
      expect(rest.body.status).toBe('failed');
      expect(rest.body.error.code).toBe('SQL_SESSION_UNSAFE');
      expect(rest.body.result.message).toContain('cast mood AS integer (function public.mood_int)');
      const c = client(gw);
      await c.connect();
      const notices: string[] = [];
      c.on('notice', (m) => notices.push(m.message ?? ''));
      try {
        const refused = await c.query('SELECT m::int AS n FROM moods').then(() => undefined, (e: { code?: string }) => e);
        expect(refused?.code).toBe('55000');
        expect(notices).toEqual([]);
      } finally {
        await c.end();
      }
    } finally {
      await direct.query('ALTER EXTENSION plpgsql DROP CAST (mood AS int)').catch(() => undefined);
      await direct.query('DROP TABLE IF EXISTS moods; DROP CAST IF EXISTS (mood AS int); DROP FUNCTION IF EXISTS public.mood_int(mood); DROP TYPE IF EXISTS mood');
    }
  });

  // pg_catalog's own objects are the server's; a role that may create there (a superuser) adds objects that are not.
  it("a function made in pg_catalog after initdb, for a cast or as an overload of a built-in, is refused on a read that would run it (and the agent may not make one)", async () => {
    const ddl = [
      "CREATE TYPE mood2 AS ENUM ('ok')",
      "CREATE FUNCTION pg_catalog.mood2_int(m mood2) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'leak ran'; RETURN 1; END$$",
      'CREATE CAST (mood2 AS int) WITH FUNCTION pg_catalog.mood2_int(mood2)',
      'CREATE TABLE moods2 (m mood2, v varchar)',
      "INSERT INTO moods2 VALUES ('ok', 'x')",
      "CREATE FUNCTION pg_catalog.upper(character varying) RETURNS text LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'leak ran'; RETURN 'X'; END$$",
    ];
    try {
      // The agent may not make them there itself (a statement on pg_catalog's objects, or a cast by a function of
      // pg_catalog, is of type catalog, which no rule here allows); another session (an operator's, a migration's) may,
      // and the read check must still see them.
      for (const sql of ddl) {
        if (!sql.includes('pg_catalog.')) {
          expect((await sqlAction(gw, sql)).status, sql).toBe(200);
          continue;
        }
        expect((await sqlAction(gw, sql)).status, sql).toBe(403);
        await direct.query(sql);
      }
      for (const [sql, what] of [
        ['SELECT m::int AS n FROM moods2', 'pg_catalog.mood2_int'],
        ['SELECT upper(v) AS n FROM moods2', 'pg_catalog.upper'],
      ] as const) {
        // Each on its own: while the cast is there, any read is refused for it.
        if (what === 'pg_catalog.upper') await direct.query('DROP CAST (mood2 AS int)');
        const rest = await sqlAction(gw, sql);
        expect(rest.body.status, sql).toBe('failed');
        expect(rest.body.error.code).toBe('SQL_SESSION_UNSAFE');
        expect(rest.body.result.message).toContain(what);
      }
    } finally {
      await direct.query('DROP TABLE IF EXISTS moods2; DROP CAST IF EXISTS (mood2 AS int); DROP FUNCTION IF EXISTS pg_catalog.mood2_int(mood2); DROP FUNCTION IF EXISTS pg_catalog.upper(character varying); DROP TYPE IF EXISTS mood2');
    }
  });
});
